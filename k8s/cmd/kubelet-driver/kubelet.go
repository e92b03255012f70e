package main

// The kubelet's side: a Registration server on kubelet.sock and a
// pod-resources List server whose answers the scenario sets.

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"google.golang.org/grpc"

	dp "vfagent/k8s/api/deviceplugin/v1beta1"
	pr "vfagent/k8s/api/podresources/v1"
)

type registrar struct {
	dp.UnimplementedRegistrationServer
	got chan *dp.RegisterRequest
	g   *grpc.Server
}

// Register records the request, as the kubelet's device manager does
// before it dials the plugin's endpoint.
func (r *registrar) Register(_ context.Context, req *dp.RegisterRequest) (*dp.Empty, error) {
	if req.Version != "v1beta1" {
		return nil, fmt.Errorf("unsupported version %q", req.Version)
	}
	r.got <- req
	return &dp.Empty{}, nil
}

func startRegistrar(path string, got chan *dp.RegisterRequest) (*registrar, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	r := &registrar{got: got, g: grpc.NewServer()}
	dp.RegisterRegistrationServer(r.g, r)
	go func() { _ = r.g.Serve(l) }()
	return r, nil
}

type podRes struct {
	pr.UnimplementedPodResourcesListerServer
	mu   sync.Mutex
	pods []*pr.PodResources
	fail bool
}

func (p *podRes) set(pods []*pr.PodResources, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pods, p.fail = pods, fail
}

// List answers what the scenario set, or fails as an unready kubelet does.
func (p *podRes) List(context.Context, *pr.ListPodResourcesRequest) (*pr.ListPodResourcesResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return nil, fmt.Errorf("pod resources unavailable")
	}
	return &pr.ListPodResourcesResponse{PodResources: p.pods}, nil
}

func startPodRes(path string) (*podRes, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	p := &podRes{}
	g := grpc.NewServer()
	pr.RegisterPodResourcesListerServer(g, p)
	go func() { _ = g.Serve(l) }()
	return p, nil
}

func pod(name, resource string, ids []string) *pr.PodResources {
	return &pr.PodResources{Name: name, Namespace: "default",
		Containers: []*pr.ContainerResources{{Name: "c0",
			Devices: []*pr.ContainerDevices{{ResourceName: resource, DeviceIds: ids}}}}}
}
