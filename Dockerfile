# syntax=docker/dockerfile:1
# Postern: the relay daemon `postern` and the admin CLI `mailadmin`, on Debian 12.
#
#   podman build --isolation=chroot --network=host --pull=never --format docker -t postern:dev .
#   (or: docker build -t postern:dev .; scripts/build-image.sh builds and smoke-tests it)
#
# The image runs as uid 10001 and writes nothing outside /tmp, so it runs with a read-only root
# filesystem (k8s/base mounts an emptyDir at /tmp). Configuration: /etc/postern/postern.yaml
# (postern.example.yaml documents every key); the database URL comes from POSTERN_DATABASE_URL
# or database.url_file, never from the image.

# ---- build --------------------------------------------------------------------------------------
FROM debian:bookworm AS build
# Only the compile-time packages, in their own layer: source edits do not reinstall them.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN bash /src/scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . /src
WORKDIR /src
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSTERN_TESTS=OFF \
 && cmake --build /build --target postern mailadmin \
 && strip /build/server/postern /build/mailadmin/mailadmin

# ---- runtime ------------------------------------------------------------------------------------
FROM debian:bookworm
# The shared libraries the two binaries link (ldd), CA certificates for verifying upstreams, and
# nothing else: no compiler, no curl (the health check below uses bash's /dev/tcp).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libpqxx-6.4 libpq5 libsodium23 libidn2-0 libyaml-cpp0.7 libssl3 libpcre2-8-0 librabbitmq4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/postern --no-create-home \
      --shell /usr/sbin/nologin postern \
 && install -d -o postern -g postern -m 0750 /var/lib/postern \
 && install -d -m 0755 /etc/postern

COPY --from=build /build/server/postern /build/mailadmin/mailadmin /usr/local/bin/
COPY --from=build /src/mailadmin/mailadmin.bash-completion /usr/share/bash-completion/completions/mailadmin
COPY --from=build /src/postern.example.yaml /usr/share/doc/postern/postern.example.yaml

USER 10001:10001
WORKDIR /var/lib/postern
# 9000: SMTP submission (STARTTLS); 9100: HTTP /healthz, /readyz, /metrics.
EXPOSE 9000 9100
# GET /healthz over bash's /dev/tcp: healthy when the first response line says 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 proto code rest <&3 && [ \"$code\" = 200 ]"]
ENTRYPOINT ["/usr/local/bin/postern"]
CMD ["--config", "/etc/postern/postern.yaml"]
