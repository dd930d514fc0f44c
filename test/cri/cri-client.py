#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cri-client: a minimal CRI (runtime.v1) client for udpcork's containerd tests.

It speaks gRPC to a container runtime's CRI socket (containerd's CRI plugin)
with the few messages of test/cri/cri-min.proto, the way the kubelet would for
the calls used here. The Python modules are generated at first use with
grpc_tools.protoc (Debian: python3-grpc-tools, python3-grpcio,
python3-protobuf) into $CRI_GEN (default /tmp/uc-cri-gen).

  cri-client.py [-s SOCKET] version
  cri-client.py [-s SOCKET] runp NAME                  -> pod sandbox id
                (runtime handler: $CRI_RUNTIME_HANDLER, default the runtime's default)
  cri-client.py [-s SOCKET] create POD NAME IMAGE [-m HOST:CTR]... [-a K=V]... [-- ARG...]
                                                       -> container id
  cri-client.py [-s SOCKET] start ID
  cri-client.py [-s SOCKET] status ID                  -> JSON (state, pid, image_ref ...)
  cri-client.py [-s SOCKET] checkpoint ID LOCATION [-t TIMEOUT]
  cri-client.py [-s SOCKET] stop ID | rm ID | stopp POD | rmp POD

A pod is named NAME; its config (metadata, log directory, namespaces) is a
function of NAME, so `create` sends the same sandbox config that `runp`
used (the kubelet does the same). Pods get their own network namespace
(from the runtime's CNI config); containers their own pid namespace.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.environ.get("CRI_GEN", "/tmp/uc-cri-gen")
PROTO = os.path.join(HERE, "cri-min.proto")


def load_modules():
    """Generate (once) and import cri_min_pb2 and cri_min_pb2_grpc."""
    pb = os.path.join(GEN, "cri_min_pb2.py")
    if not os.path.exists(pb) or os.path.getmtime(pb) < os.path.getmtime(PROTO):
        os.makedirs(GEN, exist_ok=True)
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", HERE,
                        "--python_out=" + GEN, "--grpc_python_out=" + GEN,
                        PROTO], check=True)
    sys.path.insert(0, GEN)
    import cri_min_pb2
    import cri_min_pb2_grpc
    return cri_min_pb2, cri_min_pb2_grpc


def pod_config(pb, name):
    """The sandbox config of pod NAME (the same for runp and create)."""
    logdir = os.path.join(os.environ.get("CRI_LOGS", "/tmp/uc-cri-logs"), name)
    os.makedirs(logdir, exist_ok=True)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid="uid-" + name,
                                       namespace="udpcork", attempt=0),
        hostname=name,
        log_directory=logdir,
        labels={"io.github.udpcork.test": "1"},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=os.environ.get("CRI_CGROUP_PARENT", ""),
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(
                    network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))


def main(argv):
    sock = os.environ.get("CRI_SOCKET", "/run/uc-ctrd/containerd.sock")
    if len(argv) > 1 and argv[0] == "-s":
        sock, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    import grpc
    pb, pbg = load_modules()
    chan = grpc.insecure_channel("unix://" + sock)
    rt = pbg.RuntimeServiceStub(chan)
    cmd, args = argv[0], argv[1:]
    timeout = float(os.environ.get("CRI_TIMEOUT", "120"))

    if cmd == "version":
        r = rt.Version(pb.VersionRequest(version="v1"), timeout=timeout)
        print(r.runtime_name, r.runtime_version, r.runtime_api_version)
    elif cmd == "runp":
        r = rt.RunPodSandbox(pb.RunPodSandboxRequest(
            config=pod_config(pb, args[0]),
            runtime_handler=os.environ.get("CRI_RUNTIME_HANDLER", "")), timeout=timeout)
        print(r.pod_sandbox_id)
    elif cmd == "create":
        pod, name, image = args[0], args[1], args[2]
        rest = args[3:]
        mounts, annotations, cargs = [], {}, []
        while rest:
            a = rest.pop(0)
            if a == "-m":
                h, c = rest.pop(0).split(":", 1)
                mounts.append(pb.Mount(host_path=h, container_path=c))
            elif a == "-a":
                k, v = rest.pop(0).split("=", 1)
                annotations[k] = v
            elif a == "--":
                cargs, rest = rest, []
            else:
                raise SystemExit("create: unknown option " + a)
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=image),
            args=cargs,
            mounts=mounts,
            annotations=annotations,
            log_path=name + ".log",
            linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))
        # the pod name of a restore may differ from the pod the checkpoint came from
        r = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod_id(pod), config=cfg,
            sandbox_config=pod_config(pb, pod_name(pod))), timeout=timeout)
        print(r.container_id)
    elif cmd == "start":
        rt.StartContainer(pb.StartContainerRequest(container_id=args[0]), timeout=timeout)
    elif cmd == "status":
        r = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0], verbose=True),
                               timeout=timeout)
        s = r.status
        out = {"id": s.id, "name": s.metadata.name,
               "state": pb.ContainerState.Name(s.state),
               "image": s.image.image, "image_ref": s.image_ref,
               "exit_code": s.exit_code, "reason": s.reason, "message": s.message,
               "annotations": dict(s.annotations), "log_path": s.log_path}
        info = r.info.get("info")
        if info:
            try:
                out["pid"] = json.loads(info).get("pid")
            except ValueError:
                pass
        print(json.dumps(out, indent=1, sort_keys=True))
    elif cmd == "checkpoint":
        t = 0
        if len(args) > 3 and args[2] == "-t":
            t = int(args[3])
        t0 = time.monotonic()
        rt.CheckpointContainer(pb.CheckpointContainerRequest(
            container_id=args[0], location=args[1], timeout=t), timeout=timeout)
        print("checkpoint written to %s in %.2f s" % (args[1], time.monotonic() - t0),
              file=sys.stderr)
    elif cmd == "stop":
        rt.StopContainer(pb.StopContainerRequest(container_id=args[0], timeout=0),
                         timeout=timeout)
    elif cmd == "rm":
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=args[0]), timeout=timeout)
    elif cmd == "stopp":
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]), timeout=timeout)
    elif cmd == "rmp":
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]),
                            timeout=timeout)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


# POD on the command line of `create` is ID=NAME: the sandbox id and the
# pod's name (whose sandbox config is re-made).
def pod_id(pod):
    return pod.split("=", 1)[0]


def pod_name(pod):
    return pod.split("=", 1)[1] if "=" in pod else pod


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # grpc.RpcError included: one line, exit 1
        detail = getattr(e, "details", None)
        msg = detail() if callable(detail) else str(e)
        code = getattr(e, "code", None)
        print("cri-client: %s%s" % ((code().name + ": ") if callable(code) else "", msg),
              file=sys.stderr)
        sys.exit(1)
