// Everything an application needs.
#pragma once

#include "crust/config.hpp"
#include "crust/endpoint.hpp"
#include "crust/errors.hpp"
#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "crust/service.hpp"
