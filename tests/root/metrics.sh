# vfagent serve's metrics through the real consumer, no SR-IOV needed: a
# daemon whose PF is missing still writes its metrics file; Debian's
# prometheus-node-exporter serves it with its textfile collector on
# loopback; curl scrapes it; promtool (package prometheus) lints it; a
# refused alloc moves a counter; the CDI spec is left out while no VF has
# an IOMMU group.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}"
NE=$(command -v prometheus-node-exporter || command -v node_exporter)
PT=$(command -v promtool)
if [ -z "$NE" ] || [ -z "$PT" ] || ! command -v curl >/dev/null; then
	skip "metrics: needs prometheus-node-exporter, promtool (prometheus) and curl (tests/deps.sh)"
	exit 0
fi
d=$(mktemp -d /tmp/vfagent-metrics.XXXXXX)
pid= nep=
trap 'kill $pid $nep 2>/dev/null; wait $pid $nep 2>/dev/null; rm -rf "$d"' EXIT
mkdir -p "$d/tf"
chmod 755 "$d" "$d/tf"
cat >"$d/c.conf" <<CONF
[pool p]
pf = vfa-nosuch0
vfs = 2
[serve]
cdi-dir = $d/cdi
metrics-file = $d/tf/vfagent.prom
CONF
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log" &
pid=$!
f=$d/tf/vfagent.prom
for i in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
check metrics.written_without_pf "no $f after 5 s: $(cat $d/log)" [ -s "$f" ]
check metrics.pf_down "$(grep pf_up $f)" grep -qx 'vfagent_pf_up{pool="p",pf="vfa-nosuch0"} 0' "$f"
check metrics.mode "$(ls -l $f)" [ "$(stat -c %a "$f")" = 644 ]
out=$("$PT" check metrics <"$f" 2>&1)
check metrics.promtool_file "$out" [ -z "$out" ]
check metrics.no_cdi_without_vfs "$(ls $d/cdi 2>&1)" [ ! -e "$d/cdi/vfagent.io-vf.json" ]

# node_exporter on a free loopback port, textfile collector only.
port=
for p in 19100 19101 19102 19103 19104; do
	"$NE" --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$d/tf" \
		--web.listen-address="127.0.0.1:$p" >"$d/ne.log" 2>&1 &
	nep=$!
	for i in $(seq 1 50); do
		curl -sf "http://127.0.0.1:$p/metrics" >"$d/scrape" 2>/dev/null && { port=$p; break; }
		kill -0 $nep 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] && break
	kill $nep 2>/dev/null; wait $nep 2>/dev/null; nep=
done
check metrics.node_exporter "no node_exporter answered on 127.0.0.1:19100-19104: $(tail -n2 $d/ne.log)" [ -n "$port" ]
[ -n "$port" ] || exit 0
check metrics.scraped "$(grep -c '^vfagent_' $d/scrape) vfagent lines" grep -q '^vfagent_pool_vfs{pool="p"} 0' "$d/scrape"
check metrics.textfile_ok "$(grep textfile_scrape_error $d/scrape)" grep -qx 'node_textfile_scrape_error 0' "$d/scrape"
out=$(grep -E '^(# (HELP|TYPE) )?vfagent_' "$d/scrape" | "$PT" check metrics 2>&1)
check metrics.promtool_scrape "$out" [ -z "$out" ]

# Nothing changed: the file is not rewritten, but its mtime moves (the
# daemon is alive), on the 5 s sweep.
t0=$(grep '^node_textfile_mtime_seconds{file=.*vfagent.prom"}' "$d/scrape" | awk '{print $2}')
ino=$(stat -c %i "$f")
sleep 5.5
curl -sf "http://127.0.0.1:$port/metrics" >"$d/scrape2"
t1=$(grep '^node_textfile_mtime_seconds{file=.*vfagent.prom"}' "$d/scrape2" | awk '{print $2}')
check metrics.mtime_moves "mtime $t0 -> $t1, inode $ino -> $(stat -c %i $f)" \
	sh -c "[ -n '$t0' ] && [ '$t0' != '$t1' ] && [ $ino = $(stat -c %i "$f") ]"

# A refused alloc (the pool has no PF) moves a counter; the next scrape sees it.
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" alloc --pool p >/dev/null 2>&1
ok=
for i in $(seq 1 50); do
	curl -sf "http://127.0.0.1:$port/metrics" >"$d/scrape" &&
		grep -qx 'vfagent_alloc_failures_total{pool="p"} 1' "$d/scrape" && { ok=1; break; }
	sleep 0.1
done
check metrics.counter_moves "$(grep alloc_failures $d/scrape)" [ -n "$ok" ]
