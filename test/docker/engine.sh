#!/usr/bin/env bash
# Brings up what the docker suite needs on a Debian machine, from Debian's packages only (no
# image comes from the internet): a Docker engine on the local socket and on tcp 127.0.0.1:2375
# (the "remote" engine of the tests), a registry on 127.0.0.1:5000, and a tiny base image made
# from busybox-static, pushed to that registry. Safe to run again: it starts only what is not running yet.
set -euo pipefail

state=${BENCH_PIPELINE_DOCKER_STATE:-/tmp/bench-pipeline-docker}
mkdir -p "$state"

if ! command -v dockerd >/dev/null || ! command -v docker-registry >/dev/null || [ ! -x /bin/busybox ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io docker-registry busybox-static >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  nohup dockerd -H unix:///var/run/docker.sock -H tcp://127.0.0.1:2375 >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null || { tail -20 "$state/dockerd.log"; exit 1; }
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; then
  cat >"$state/registry.yml" <<YAML
version: 0.1
log:
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  nohup docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
  for _ in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && break; sleep 0.5; done
fi

base=bench-pipeline-test/busybox:1
if ! docker image inspect "$base" >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/workspace"
  cp /bin/busybox "$rootfs/bin/"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$rootfs"
fi
# A Node base for the harness image (images/Dockerfile takes it as BASE): the host's node binary
# and the libraries it links, with librt (which Claude Code's native binary needs), on busybox.
node_base=bench-pipeline-test/node:1
if ! docker image inspect "$node_base" >/dev/null 2>&1; then
  ctx=$(mktemp -d)
  node=$(readlink -f "$(command -v node)")
  mkdir -p "$ctx/root/usr/local/bin"
  cp "$node" "$ctx/root/usr/local/bin/node"
  for lib in $(ldd "$node" | grep -o '/[^ ]*') "$(dirname "$(ldd "$node" | grep -o '/[^ ]*libc.so.6')")/librt.so.1"; do
    mkdir -p "$ctx/root$(dirname "$lib")"
    cp -L "$lib" "$ctx/root$lib"
  done
  printf 'FROM %s\nCOPY root/ /\nRUN chmod 1777 /tmp\n' "$base" >"$ctx/Dockerfile"
  docker build -q -t "$node_base" "$ctx" >/dev/null
  rm -rf "$ctx"
fi

# The base image is also in the registry, so that pulls by tag and by digest are real pulls.
docker tag "$base" 127.0.0.1:5000/$base
docker push -q 127.0.0.1:5000/$base >/dev/null
echo "docker engine $(docker version --format '{{.Server.Version}}'), registry 127.0.0.1:5000, base images $base, $node_base"
