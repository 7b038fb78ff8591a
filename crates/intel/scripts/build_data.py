#!/usr/bin/env python3
"""Builds crates/intel/data/*.tsv from the shared indicator facts (run once, commit the output).

    python3 crates/intel/scripts/build_data.py ../shared/data/intel crates/intel/data

Inputs (see their headers): pool-domains-from-rules.tsv (domains named by public detection rules)
and pool-endpoints.tsv (coin, pool, host, port, transport from the HiveOS pool templates).

Outputs, kept compact on purpose:
  pool-domains.tsv    domain <TAB> pool name <TAB> coins   (matched by label suffix)
  pool-endpoints.tsv  host <TAB> coins <TAB> ports         (exact host facts)

Domains are reduced to their registrable domain (so `xmr-eu1.nanopool.org` becomes
`nanopool.org`) only when that is safe: the registrable domain is not a shared/dynamic-DNS or
multi-purpose provider, and it is evidently a pool's own domain (a mining word in its name, named by
a rule, or several pool hosts under it). Otherwise the full host is kept. Domains covered by a
shorter listed suffix are dropped.
"""
import collections
import ipaddress
import re
import sys
from pathlib import Path

# Second-level public suffixes seen in the data (no full public-suffix list needed here).
MULTI_LABEL_SUFFIXES = {"co.uk", "com.cn", "com.br", "com.au", "net.cn", "org.uk", "co.jp", "com.ru"}
# Providers whose subdomains belong to unrelated customers, and brands that are much more than a
# pool: never widen a match to these.
SHARED_PROVIDERS = {
    "ddns.net", "sytes.net", "my.id", "dscloud.me", "dyndns.org", "us.to", "webhop.net",
    "duckdns.org", "no-ip.org", "hopto.org", "mysrv.cloud", "com.com", "host.host",
    "bitcoin.com", "btc.com", "whitebit.com", "bw.com", "gfwroute.co", "aod-tech.com",
    "binarylongevity.com", "cedric-crispin.com", "yu-tam.contact", "btx.tools", "bittubeapp.com",
    "riefly.id",
    # coin projects that also host a pool: their web sites are not mining
    "sero.cash", "sinovate.io", "pyrin.network", "lincoin.com", "qwertycoin.org",
    "taonacoin.com", "redecoin.eu", "xdag.org", "zel.cash", "egem.io", "ellaism.org",
    "ryo-currency.com", "electronero.org", "argoneum.net", "raptoreum.online",
}
# Rule entries that are not pools: the pool-vs-cache false positive, coin project web sites and
# p2p seed hosts (crypto, not mining), a download site.
NOT_POOLS = {
    "zpool.cache", "emercoin.com", "emercoin.net", "emergate.net", "joulecoin.org",
    "kronecoin.org", "titcoins.info", "webhop.net", "dl.nbminer.com",
}
MINING_WORD = re.compile(r"pool|mine|mining|hash|xmr|monero|stratum|miner")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")
MAX_COINS_PER_DOMAIN = 4


def registrable(host):
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def pool_name(counter):
    """The pool's name: variants like "2Miners SOLO" fold into "2Miners"; most rows win."""
    folded = collections.Counter()
    for name, n in counter.items():
        base = re.sub(r"\s+(SOLO|PPLNS|PPS\+?|PROP|FPPS)$", "", name, flags=re.I).strip()
        folded[base] += n
    if not folded:
        return ""
    return sorted(folded.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0][0]


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            yield line.split("\t")


def main(src, out):
    src, out = Path(src), Path(out)
    rule_domains = set()
    for r in rows(src / "pool-domains-from-rules.tsv"):
        d = r[0].strip().lower().rstrip(".")
        if d == "domain" or d in NOT_POOLS or not DOMAIN.match(d) or is_ip(d):
            continue
        if ".seed." in "." + d or d.startswith("seed"):
            continue
        rule_domains.add(d)

    host_coins = collections.defaultdict(set)
    host_ports = collections.defaultdict(set)
    host_pool = {}
    for r in rows(src / "pool-endpoints.tsv"):
        if len(r) < 5 or r[0] == "coin":
            continue
        coin, pool, host, port = r[0].strip(), r[1].strip(), r[2].strip().lower().rstrip("."), r[3]
        if not host or not port.isdigit() or not (0 < int(port) < 65536):
            continue
        if not (DOMAIN.match(host) or is_ip(host)):
            continue
        host_ports[host].add(int(port))
        if coin:
            host_coins[host].add(coin.upper())
        if pool:
            host_pool.setdefault(host, collections.Counter())[pool] += 1

    hosts_under = collections.defaultdict(set)
    for h in host_ports:
        if not is_ip(h):
            hosts_under[registrable(h)].add(h)

    def widen(host):
        reg = registrable(host)
        if reg in SHARED_PROVIDERS or reg in NOT_POOLS or reg == host:
            return host
        name = reg.split(".")[0]
        if MINING_WORD.search(name) or reg in rule_domains or len(hosts_under[reg]) >= 3:
            return reg
        return host

    domains = {}  # domain -> (pool counter, coins)
    for h in list(host_ports) + sorted(rule_domains):
        if is_ip(h):
            continue
        d = widen(h)
        pools, coins = domains.setdefault(d, (collections.Counter(), set()))
        pools.update(host_pool.get(h, {}))
        coins.update(host_coins.get(h, ()))

    def covered(d):
        labels = d.split(".")
        return any(".".join(labels[i:]) in domains for i in range(1, len(labels) - 1))

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "pool-domains.tsv", "w", encoding="utf-8") as f:
        f.write("# Generated by crates/intel/scripts/build_data.py from shared/data/intel; do not edit.\n")
        f.write("# domain\tpool\tcoins (empty when unknown or more than %d)\n" % MAX_COINS_PER_DOMAIN)
        kept = 0
        for d in sorted(domains):
            if covered(d):
                continue
            pools, coins = domains[d]
            pool = pool_name(pools)
            coin_list = ",".join(sorted(coins)) if len(coins) <= MAX_COINS_PER_DOMAIN else ""
            f.write(f"{d}\t{pool}\t{coin_list}\n")
            kept += 1
    with open(out / "pool-endpoints.tsv", "w", encoding="utf-8") as f:
        f.write("# Generated by crates/intel/scripts/build_data.py from shared/data/intel; do not edit.\n")
        f.write("# host\tcoins\tports\n")
        for h in sorted(host_ports):
            coins = ",".join(sorted(host_coins.get(h, ())))
            ports = ",".join(str(p) for p in sorted(host_ports[h]))
            f.write(f"{h}\t{coins}\t{ports}\n")
    print(f"{kept} pool domains, {len(host_ports)} endpoint hosts", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
