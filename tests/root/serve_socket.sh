# vfagent serve --socket PATH: only a stale socket at PATH is replaced; a
# file, a directory or a symlink there is refused and left as it was, and
# the socket is made 0666 without following a link (issue 11).
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}"
d=$(mktemp -d /tmp/vfagent-sock.XXXXXX)
trap 'rm -rf "$d"' EXIT
printf '[pool p]\npf = vfa-nosuch0\nvfs = 2\n[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
serve_briefly() {	# serve_briefly SOCKET: rc of serve, or 0 if it came up
	"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve --socket "$1" 2>"$d/log" &
	p=$!
	for i in $(seq 1 60); do
		kill -0 $p 2>/dev/null || break
		[ -S "$1" ] && { kill $p; wait $p; return 0; }
		sleep 0.05
	done
	wait $p
}
echo precious >"$d/file"
serve_briefly "$d/file"; rc=$?
check serve.socket_file_kept "rc=$rc, file now: $(cat $d/file 2>&1)" \
	sh -c "[ $rc != 0 ] && [ \"\$(cat $d/file)\" = precious ] && grep -q 'not a socket' $d/log"
echo target >"$d/target"; chmod 600 "$d/target"
ln -s "$d/target" "$d/link"
serve_briefly "$d/link"; rc=$?
check serve.socket_symlink_kept "rc=$rc, link: $(ls -l $d/link 2>&1), target mode $(stat -c %a $d/target)" \
	sh -c "[ $rc != 0 ] && [ -L $d/link ] && [ \$(stat -c %a $d/target) = 600 ]"
mkdir "$d/dir"
serve_briefly "$d/dir"; rc=$?
check serve.socket_dir_kept "rc=$rc" sh -c "[ $rc != 0 ] && [ -d $d/dir ]"
# A stale socket (nobody answers) is replaced; the new one is 0666.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$d/stale"
serve_briefly "$d/stale"; rc=$?
check serve.socket_stale_replaced "rc=$rc $(cat $d/log)" [ $rc = 0 ]
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve --socket "$d/s2" 2>"$d/log" & p=$!
for i in $(seq 1 60); do [ -S "$d/s2" ] && break; sleep 0.05; done
m=$(stat -c %a "$d/s2" 2>&1); kill $p; wait $p
check serve.socket_mode "mode $m" [ "$m" = 666 ]
# A planted serve.lock symlink is not followed (root would create its target).
mkdir -p "$d/st2" && chmod 755 "$d/st2"
"$V" -c "$d/c.conf" -s "$d/st2" --persist-dir "$d/pst" status >/dev/null 2>&1	# lays out the state dir
ln -s "$d/planted" "$d/st2/serve.lock"
"$V" -c "$d/c.conf" -s "$d/st2" --persist-dir "$d/pst" serve --socket "$d/s3" 2>"$d/log" & p=$!
for i in $(seq 1 60); do kill -0 $p 2>/dev/null || break; [ -S "$d/s3" ] && break; sleep 0.05; done
kill $p 2>/dev/null; wait $p; rc=$?
check serve.lock_symlink_refused "rc=$rc $(cat $d/log); planted: $(ls $d/planted 2>&1)" \
	sh -c "[ ! -e $d/planted ] && grep -q 'serve.lock is a symlink' $d/log"
