# Shared by the tools/ scripts: installs missing Debian packages.
# ensure_packages CMD:PACKAGE ... installs PACKAGE when CMD is not found;
# a CMD of the form "pkg-config:NAME" checks for a pkg-config module instead.
ensure_packages() {
    local missing=() spec check pkg
    for spec in "$@"; do
        check=${spec%:*}
        pkg=${spec##*:}
        case "$check" in
            pc=*) pkg-config --exists "${check#pc=}" 2>/dev/null || missing+=("$pkg") ;;
            dpkg=*) dpkg -s "${check#dpkg=}" >/dev/null 2>&1 || missing+=("$pkg") ;;
            *) command -v "$check" >/dev/null 2>&1 || missing+=("$pkg") ;;
        esac
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        if [ -z "${TOKEN_APT_UPDATED:-}" ]; then
            $sudo apt-get update -qq >&2
            export TOKEN_APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
    fi
}

# The Debian packages every build needs.
ensure_build_packages() {
    ensure_packages pkg-config:pkg-config dpkg=libprotobuf-c-dev:libprotobuf-c-dev \
        dpkg=libssl-dev:libssl-dev dpkg=libsqlite3-dev:libsqlite3-dev dpkg=libhiredis-dev:libhiredis-dev
}

# The PyPI packages of the interop tests (an independent protobuf runtime, two JOSE libraries and
# the Prometheus text parser and redis-py for the public revocation schema), listed in
# tools/interop/requirements.txt.
ensure_python_packages() {
    if ! python3 -c 'import google.protobuf, jwt, joserfc, cryptography, prometheus_client, redis' >/dev/null 2>&1; then
        python3 -m pip --version >/dev/null 2>&1 || ensure_packages dpkg=python3-pip:python3-pip
        echo "installing Python packages from tools/interop/requirements.txt" >&2
        python3 -m pip install --quiet --disable-pip-version-check -r tools/interop/requirements.txt >&2 \
            || python3 -m pip install --quiet --break-system-packages -r tools/interop/requirements.txt >&2
    fi
}

# The gateways the end-to-end tests put in front of tokengate: nginx (auth_request) and Caddy
# (forward_auth), from Debian.
ensure_gateway_packages() {
    ensure_packages nginx:nginx caddy:caddy
}
