#!/bin/sh
# Build the Kubernetes side of vfagent into k8s/bin: vfagent-k8s (the device
# plugin), kubelet-driver (plays the kubelet in tests) and fakedaemon (plays
# `vfagent serve` in tests).  Go from Debian's packages, GOPATH mode, offline:
# see tests/deps.sh for the package list.  Exit 3 (with the reason) when the
# toolchain is missing, 1 when the build fails.
set -eu
cd "$(dirname "$0")"
K=$(pwd)
OUT=${VFAGENT_K8S_BUILD:-$K/.build}
for t in go protoc protoc-gen-go-grpc; do
	command -v $t >/dev/null 2>&1 || { echo "$t is not installed (make deps installs it)"; exit 3; }
done
for d in google.golang.org/grpc google.golang.org/protobuf golang.org/x/sys/unix; do
	[ -d /usr/share/gocode/src/$d ] || { echo "Go package $d is not installed (make deps installs it)"; exit 3; }
done
mkdir -p "$OUT/gopath/src/vfagent" "$K/bin"
ln -sfn "$K" "$OUT/gopath/src/vfagent/k8s"
export GOPATH="$OUT/gopath:/usr/share/gocode" GO111MODULE=off GOCACHE="$OUT/cache" GOFLAGS= GOPROXY=off
# protoc-gen-go of the protobuf APIv2 (Debian ships its source only).
go build -o "$OUT/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
(cd api && PATH="$OUT:$PATH" protoc --go_out=paths=source_relative:. \
	--go-grpc_out=paths=source_relative:. \
	deviceplugin/v1beta1/api.proto podresources/v1/api.proto)
cd "$OUT/gopath/src/vfagent/k8s"
go vet ./...
go build -o "$K/bin/vfagent-k8s" ./cmd/vfagent-k8s
go build -o "$K/bin/kubelet-driver" ./cmd/kubelet-driver
go build -o "$K/bin/fakedaemon" ./tests/fakedaemon
go test -c -o "$K/bin/plugin.test" ./plugin
