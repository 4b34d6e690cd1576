// Atoms of the messages crust's actors exchange among themselves (never
// seen by applications).
#pragma once

#include <caf/atom.hpp>

namespace crust {

using conn_up_atom = caf::atom_constant<caf::atom("conn_up")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using select_atom = caf::atom_constant<caf::atom("select")>;
using selected_atom = caf::atom_constant<caf::atom("selected")>;
using kept_atom = caf::atom_constant<caf::atom("kept")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using link_timeout_atom = caf::atom_constant<caf::atom("link_tout")>;
using decide_atom = caf::atom_constant<caf::atom("decide_to")>;
using bound_atom = caf::atom_constant<caf::atom("bound")>;
using dial_atom = caf::atom_constant<caf::atom("dial")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using rearm_atom = caf::atom_constant<caf::atom("rearm")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using cache_success_atom = caf::atom_constant<caf::atom("cache_ok")>;
using cache_failure_atom = caf::atom_constant<caf::atom("cache_fail")>;
using cache_list_atom = caf::atom_constant<caf::atom("cache_list")>;
using bootstrap_dial_atom = caf::atom_constant<caf::atom("bs_dial")>;
using bootstrap_result_atom = caf::atom_constant<caf::atom("bs_result")>;
using kept_count_atom = caf::atom_constant<caf::atom("kept_count")>;
using bootstrap_tick_atom = caf::atom_constant<caf::atom("bs_tick")>;
using rebootstrap_atom = caf::atom_constant<caf::atom("reboot")>;
using exchange_atom = caf::atom_constant<caf::atom("exchange")>;
using peers_request_atom = caf::atom_constant<caf::atom("peers_req")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using cache_learned_atom = caf::atom_constant<caf::atom("cache_lrnd")>;
using beacon_found_atom = caf::atom_constant<caf::atom("bcn_found")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using map_port_atom = caf::atom_constant<caf::atom("map_port")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using discover_atom = caf::atom_constant<caf::atom("discover")>;
using observed_atom = caf::atom_constant<caf::atom("observed")>;
using nat_report_atom = caf::atom_constant<caf::atom("nat_report")>;
// reliable UDP (actors/rudp_engine)
using rudp_open_atom = caf::atom_constant<caf::atom("rudp_open")>;
using rudp_dial_atom = caf::atom_constant<caf::atom("rudp_dial")>;
using rudp_inbound_atom = caf::atom_constant<caf::atom("rudp_in")>;
using rudp_attach_atom = caf::atom_constant<caf::atom("rudp_att")>;
using rudp_send_atom = caf::atom_constant<caf::atom("rudp_send")>;
using rudp_sent_atom = caf::atom_constant<caf::atom("rudp_sent")>;
using rudp_frames_atom = caf::atom_constant<caf::atom("rudp_frm")>;
using rudp_down_atom = caf::atom_constant<caf::atom("rudp_down")>;
using rudp_pause_atom = caf::atom_constant<caf::atom("rudp_pause")>;
using rudp_end_atom = caf::atom_constant<caf::atom("rudp_end")>;
using stop_rudp_atom = caf::atom_constant<caf::atom("rudp_stop")>;
using udp_readable_atom = caf::atom_constant<caf::atom("udp_ready")>;
using udp_read_atom = caf::atom_constant<caf::atom("udp_read")>;
using pump_atom = caf::atom_constant<caf::atom("pump")>;

} // namespace crust
