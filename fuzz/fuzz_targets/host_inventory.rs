#![no_main]
// The inventory files come from the scanned tree, which may be a seized disk mounted with --root:
// /proc/net/fib_trie, if_inet6 and route, a MAC, os-release and uptime must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = minetrace_host::inventory::ipv4_local_addresses(&text);
    let _ = minetrace_host::inventory::ipv6_addresses(&text);
    let _ = minetrace_host::inventory::ipv4_connected_routes(&text);
    let _ = minetrace_host::inventory::mac(&text);
    let _ = minetrace_host::inventory::os_name(&text);
    let _ = minetrace_host::inventory::uptime(&text);
});
