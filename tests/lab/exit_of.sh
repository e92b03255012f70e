#!/bin/sh
# Prints the exit status the lab guest reported in console log LOG (the last
# "VFAGENT-LAB-EXIT=N" marker, wherever it stands on its line: the firmware's
# screen-clearing escapes may precede it when the script printed nothing);
# prints nothing if there is none.  Usage: tests/lab/exit_of.sh LOG
sed -n 's/.*VFAGENT-LAB-EXIT=\([0-9][0-9]*\).*/\1/p' "$1" | tail -n1
