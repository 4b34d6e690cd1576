"""Shared set-up of the crust-node black-box tests.

This module comes first in every test module (each a ctest test): it makes
sure python3-dissononce (Noise) and python3-nacl (Ed25519), the Debian
packages, can be imported; when started by another interpreter that lacks
them, the running program runs itself again with /usr/bin/python3. It also
holds the binary under test (BINARY: the first argument, else CRUST_NODE,
else build/crust-node next to the sources) and small helpers.

The rest of the harness:
  harness_node.py   Node: one crust-node process, events from its stdout
  harness_wire.py   Identity, RawPeer, RawListener: wire protocol by hand (version 5)
  harness_proxy.py  RecordingProxy: a TCP relay that records the bytes
  harness_case.py   NodeTestCase: the unittest base class of the node tests
"""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    # Only a check: harness_wire and the tests import what they use.
    import nacl.bindings  # noqa: F401
    from dissononce.cipher.chachapoly import ChaChaPolyCipher  # noqa: F401
    from dissononce.dh.x25519.private import PrivateKey  # noqa: F401
    from dissononce.dh.x25519.x25519 import X25519DH  # noqa: F401
    from dissononce.exceptions.decrypt import DecryptFailedException  # noqa: F401
    from dissononce.hash.blake2b import Blake2bHash  # noqa: F401
    from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern  # noqa: F401,E501
    from dissononce.processing.impl.cipherstate import CipherState  # noqa: F401
    from dissononce.processing.impl.handshakestate import HandshakeState  # noqa: F401
    from dissononce.processing.impl.symmetricstate import SymmetricState  # noqa: F401
except ImportError as missing:
    # ctest may start us with another python3 (e.g. a pyenv shim) that does
    # not see the Debian packages: run again with the system interpreter.
    if (os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)
            and os.access(SYSTEM_PYTHON, os.X_OK)
            and not os.environ.get("CRUST_BLACKBOX_REEXEC")):
        os.environ["CRUST_BLACKBOX_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    sys.stderr.write("%s\nthe black-box tests need python3-dissononce and python3-nacl "
                     "(./run setup installs them)\n" % missing)
    sys.exit(2)

import hashlib
import json
import socket
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.normpath(os.path.join(HERE, "..", "..", "build", "crust-node"))
BINARY = os.environ.get("CRUST_NODE", DEFAULT_BINARY)


def _short(ev):
    """An event rendered for a failure message (long texts shortened)."""
    s = json.dumps(ev, sort_keys=True)
    return s if len(s) <= 300 else s[:300] + "...(%d chars)" % len(s)


def free_then_closed_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago (TCP, or UDP with
    kind=socket.SOCK_DGRAM)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def payload(i, size):
    """Message i: a sequence number, then bytes that depend on i."""
    head = "%06d:" % i
    pattern = hashlib.sha256(head.encode()).hexdigest()
    body = (pattern * (size // len(pattern) + 1))[:size - len(head)]
    return head + body


def take_binary_argument(argv):
    """Takes the crust-node path off `argv` (its first argument, unless that
    is an option) into BINARY; exits with status 2 when BINARY is not an
    executable file."""
    global BINARY
    if len(argv) > 1 and not argv[1].startswith("-"):
        BINARY = os.path.abspath(argv.pop(1))
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write("crust-node binary not found: %s\n"
                         "usage: %s PATH/TO/crust-node [unittest options]\n"
                         % (BINARY, argv[0]))
        sys.exit(2)


def main():
    """Runs the tests of the module started as a program."""
    argv = list(sys.argv)
    take_binary_argument(argv)
    unittest.main(argv=argv, verbosity=2)
