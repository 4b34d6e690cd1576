#!/bin/sh
# Runs a test in a network namespace of its own, with only loopback (up):
# the children it starts (port mapping, address discovery, the beacon)
# then reach nothing but that namespace. Root gets one with unshare -n;
# others try a user namespace; without either the test is skipped (77).
if unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
elif unshare -rn true 2>/dev/null; then
  exec unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "skipped: no network namespace here (needs root or user namespaces)"
exit 77
