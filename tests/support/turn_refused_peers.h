#pragma once

// Peer addresses a TURN relay must refuse by default (interop notes, "Security cases for TURN
// that peers have failed"): one or more addresses from each range and every IPv4-in-IPv6 form.
namespace medrelay::testing {

inline constexpr const char* kRefusedPeers[] = {
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "febf::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",
    // IPv4-in-IPv6 forms of the above.
    "::ffff:127.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::1",
    "::ffff:10.0.0.1",
    "::ffff:0.0.0.0",
    "::ffff:169.254.169.254",
    "::ffff:192.168.1.1",
    "::ffff:172.16.0.1",
    "::ffff:100.64.0.1",
    "::ffff:224.0.0.1",
    "::ffff:255.255.255.255",
    "::10.0.0.1",
    "::192.168.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::c0a8:1",
    "64:ff9b:1::7f00:1",
    "2002:a00:1::1",
    "2002:c0a8:101::1",
    "2002:a9fe:a9fe::1",
    "2002:e000:1::1",
    "2002:ffff:ffff::1",
};

}  // namespace medrelay::testing
