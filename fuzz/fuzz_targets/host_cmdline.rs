#![no_main]
// Command lines, cron lines and unit files come from the scanned machine, where an intruder
// writes them: the analysis (pool URLs, base64 payloads, wallets, flags) must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = minetrace_host::cmdline::analyze_text(&text, &minetrace_host::BuiltinPools);
    let argv: Vec<String> = text.split('\0').map(str::to_string).collect();
    let _ = minetrace_host::cmdline::analyze_argv(&argv, &minetrace_host::BuiltinPools);
});
