// Built-in minetrace rules for mining software. Strings are written in hex so that the
// minetrace binary, which embeds this file, does not itself carry the text it looks for.

rule minetrace_xmrig_family
{
    meta:
        description = "XMRig and its forks: help text, user agent format, donation host, JSON config key"
        confidence = "high"
    strings:
        $normal_hashing = { 22 6E 6F 72 6D 61 6C 48 61 73 68 69 6E 67 22 3A 20 74 72 75 65 }
        $agent_format = { 58 4D 52 69 67 2F 25 73 20 6C 69 62 75 76 2F 25 73 }
        $keys_help = { 27 68 27 20 68 61 73 68 72 61 74 65 2C 20 27 70 27 20 70 61 75 73 65 2C 20 27 72 27 20 72 65 73 75 6D 65 }
        $donate_host = { 64 6F 6E 61 74 65 2E 76 32 2E 78 6D 72 69 67 2E 63 6F 6D }
        $onegb = { 72 61 6E 64 6F 6D 78 2D 31 67 62 2D 70 61 67 65 73 }
    condition:
        2 of them
}

rule minetrace_cpuminer_family
{
    meta:
        description = "cpuminer / minerd and forks: user agent and stratum error text"
        confidence = "high"
    strings:
        $agent = { 55 73 65 72 2D 41 67 65 6E 74 3A 20 63 70 75 6D 69 6E 65 72 2F }
        $merkle = { 53 74 72 61 74 75 6D 20 6E 6F 74 69 66 79 3A 20 69 6E 76 61 6C 69 64 20 4D 65 72 6B 6C 65 20 62 72 61 6E 63 68 }
    condition:
        any of them
}

rule minetrace_stratum_client
{
    meta:
        description = "A program that embeds a Stratum pool URL and speaks the Stratum mining methods"
        confidence = "medium"
    strings:
        $url_tcp = { 73 74 72 61 74 75 6D 2B 74 63 70 3A 2F 2F }
        $url_ssl = { 73 74 72 61 74 75 6D 2B 73 73 6C 3A 2F 2F }
        $url_tls = { 73 74 72 61 74 75 6D 2B 74 6C 73 3A 2F 2F }
        $m_subscribe = { 6D 69 6E 69 6E 67 2E 73 75 62 73 63 72 69 62 65 }
        $m_authorize = { 6D 69 6E 69 6E 67 2E 61 75 74 68 6F 72 69 7A 65 }
        $m_submit = { 6D 69 6E 69 6E 67 2E 73 75 62 6D 69 74 }
        $m_notify = { 6D 69 6E 69 6E 67 2E 6E 6F 74 69 66 79 }
    condition:
        any of ($url_*) and 2 of ($m_*)
}

rule minetrace_randomx_cryptonight_miner
{
    meta:
        description = "RandomX / CryptoNight algorithm names together with a pool URL scheme"
        confidence = "medium"
    strings:
        $rx0 = { 72 78 2F 30 }
        $randomx = { 72 61 6E 64 6F 6D 78 }
        $cn = { 63 72 79 70 74 6F 6E 69 67 68 74 }
        $cnr = { 63 6E 2F 72 }
        $url = { 73 74 72 61 74 75 6D 2B 74 63 70 3A 2F 2F }
        $rate = { 48 2F 73 }
    condition:
        2 of ($rx0, $randomx, $cn, $cnr) and $url and $rate
}
