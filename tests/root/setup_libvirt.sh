# vfagent setup never waits for libvirt: at boot it runs before libvirtd
# (vfagent-setup.service is Before=libvirtd), whose socket may already be
# listening (socket activation) with nobody behind it until setup is done.
# A setup that asked libvirt there waited for ever (issue 12, boot ordering).
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}"
d=$(mktemp -d /tmp/vfagent-setuplv.XXXXXX)
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
time.sleep(60)' "$d/lv.sock" &
lv=$!
trap 'kill $lv 2>/dev/null; rm -rf "$d"' EXIT
for i in $(seq 1 50); do [ -S "$d/lv.sock" ] && break; sleep 0.1; done
printf '[libvirt]\nuri = qemu+unix:///system?socket=%s\n[pool p]\npf = vfa-nosuch0\nvfs = 2\n' "$d/lv.sock" >"$d/c.conf"
timeout 20 "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "" --direct setup >"$d/out" 2>&1; rc=$?
check setup.no_libvirt_wait "rc=$rc (124: setup hung on a silent libvirt socket): $(cat $d/out)" \
	sh -c "[ $rc != 124 ] && grep -q 'vfa-nosuch0' $d/out"
