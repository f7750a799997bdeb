#pragma once

// What the REST API asks of the fleet: add, modify and delete a host, and the actions on one. Each answers
// with a domain outcome (done, invalid, not found, refused with the state machine's reason, conflict, not
// saved); src/api maps it to HTTP. A change is durable in the inventory before it is answered. Internal to
// src/fleet.

#include <string>

#include <asio/awaitable.hpp>

#include "api/backend.hpp"
#include "fleet/parts.hpp"

namespace mtce::fleet {

asio::awaitable<api::outcome> add_host(fleet_parts& fleet, api::add_host_request request);
asio::awaitable<api::outcome> modify_host(fleet_parts& fleet, std::string name,
                                          api::modify_host_request request);
asio::awaitable<api::outcome> delete_host(fleet_parts& fleet, std::string name);
asio::awaitable<api::outcome> act(fleet_parts& fleet, std::string name, std::string action);

}  // namespace mtce::fleet
