#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mini-registry: a read-only OCI distribution endpoint on the loopback, for
udpcork's containerd tests (no registry is reachable from the testbed).

  mini-registry.py PORT OCI-LAYOUT-DIR...

Serves /v2/, /v2/NAME/manifests/REF (REF = a tag named in an index.json, or
a digest) and /v2/NAME/blobs/DIGEST from the blobs/sha256 of the given OCI
image layout directories (plain HTTP; containerd uses plain HTTP for
loopback registries). containerd's CRI restore of a checkpoint archive
(CreateContainer with the archive as the image) pulls the checkpoint's base
image by its repo digest even when the image is already there; this answers
that pull. Binds 127.0.0.1 only. Logs requests on stderr.
"""
import http.server
import json
import os
import sys

DIRS = []


def find_blob(hexdigest):
    for d in DIRS:
        p = os.path.join(d, "blobs", "sha256", hexdigest)
        if os.path.isfile(p):
            return p
    return None


def find_tag(tag):
    for d in DIRS:
        with open(os.path.join(d, "index.json")) as f:
            idx = json.load(f)
        for m in idx.get("manifests", []):
            a = m.get("annotations", {})
            if a.get("org.opencontainers.image.ref.name") == tag:
                return m["digest"]
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, body_only):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.send(200, b"{}", "application/json", None, body_only)
        parts = path.split("/")
        # /v2/<name...>/(manifests|blobs)/<ref>
        if len(parts) < 5 or parts[1] != "v2" or parts[-2] not in ("manifests", "blobs"):
            return self.send(404, b"", "text/plain", None, body_only)
        kind, ref = parts[-2], parts[-1]
        if not ref.startswith("sha256:"):
            ref = find_tag(ref) if kind == "manifests" else None
        p = find_blob(ref.split(":", 1)[1]) if ref else None
        if p is None:
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}',
                             "application/json", None, body_only)
        with open(p, "rb") as f:
            data = f.read()
        ctype = "application/octet-stream"
        if kind == "manifests":
            ctype = json.loads(data).get("mediaType",
                                         "application/vnd.oci.image.manifest.v1+json")
        return self.send(200, data, ctype, ref, body_only)

    def send(self, code, data, ctype, digest, head):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def do_GET(self):
        self.answer(False)

    def do_HEAD(self):
        self.answer(True)


def main():
    port = int(sys.argv[1])
    DIRS.extend(sys.argv[2:])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.serve_forever()


if __name__ == "__main__":
    main()
