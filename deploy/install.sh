#!/usr/bin/env bash
# Install (or update, or remove) wattlog as a systemd service on Raspberry Pi OS / Debian.
#
#   sudo deploy/install.sh                   install or update from this source tree
#   sudo deploy/install.sh --wheel FILE.whl  install or update from a built wheel
#   sudo deploy/install.sh --dry-run         print what would change, change nothing
#   sudo deploy/install.sh --check           check the config as the service will see it
#                                            (as user wattlog, with /etc/wattlog/env); no changes
#   sudo deploy/install.sh --uninstall       remove the unit and the venv; keep config and data
#
# Safe to run again: every step checks first and changes only what differs, so a second run
# prints "ok" lines and changes nothing. It never overwrites /etc/wattlog/wattlog.toml or
# /etc/wattlog/env, and never deletes /var/lib/wattlog (database, spool, CSV files, log).
#
# What it sets up:
#   user      wattlog (system, no login shell, home /var/lib/wattlog, groups wattlog + dialout)
#   /opt/wattlog/venv            python3 -m venv, with wattlog installed by pip
#   /etc/wattlog/                root:wattlog 750
#   /etc/wattlog/wattlog.toml    root:wattlog 640, from `wattlog init` when absent, paths set to
#                                /var/lib/wattlog
#   /etc/wattlog/env             root:root 600, secrets for the service (WATTLOG_DB_PASSWORD=...)
#   /var/lib/wattlog/            wattlog:wattlog 750 (systemd's StateDirectory= also creates it)
#   /etc/systemd/system/wattlog.service   enabled; started (or restarted after an update) only
#                                when `wattlog check` accepts the config, and never on the very
#                                first install, when the config is still the example: edit it,
#                                then run this script again to check it and start the service.
#
# Offline install: pip honours PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheels (fill that folder
# with `pip wheel . -w wheels/` on a connected machine of the same architecture).
#
# Options for testing and packaging:
#   --root DIR    install below DIR instead of / (no user, no chown, no start: those steps are
#                 printed as skipped; the unit is enabled with systemctl --root). The config
#                 written still names /var/lib/wattlog.
#   --python PY   interpreter for the venv (default: /usr/bin/python3, else python3 on PATH;
#                 3.11 or newer, and not under /root or /home, which the service cannot see)
#   --reinstall   reinstall the wattlog package even if the same version is installed
#   --no-start    enable the unit but do not start or restart it
set -euo pipefail
umask 022   # the venv must be readable by the service user whatever the caller's umask

NAME=wattlog
SERVICE_USER=wattlog
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UNIT_SRC=$SCRIPT_DIR/systemd/wattlog.service

ARGS=("$@")
ROOT=""
DRY_RUN=0
UNINSTALL=0
REINSTALL=0
NO_START=0
CHECK_ONLY=0
WHEEL=""
# Debian's Python by default: the service runs with ProtectHome=yes, so an interpreter under
# /root or /home (pyenv, conda) would be invisible to it.
PYTHON=python3
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; fi

CHANGED=0          # something this run changed that the running service must pick up
UNIT_CHANGED=0
CONFIG_CREATED=0
BUILD_DIR=""

say()  { printf '%s\n' "$*"; }
ok()   { printf 'ok: %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# A command line as it could be pasted into a shell.
quoted() {
    local out="" arg
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=+@%,-]+$ ]]; then
            out+="$arg "
        else
            out+="'${arg//\'/\'\\\'\'}' "
        fi
    done
    printf '%s' "${out% }"
}

# Run a command that changes the system, or print it in --dry-run mode.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf 'would run: %s\n' "$(quoted "$@")"
    else
        printf '+ %s\n' "$(quoted "$@")"
        "$@"
    fi
}

# Steps that need a real system (users, ownership, systemd) are skipped under --root.
system() {
    if [ -n "$ROOT" ]; then
        printf 'skipped (--root): %s\n' "$(quoted "$@")"
    else
        run "$@"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --reinstall) REINSTALL=1 ;;
        --no-start) NO_START=1 ;;
        --check) CHECK_ONLY=1 ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=${2%/}; shift ;;
        --root=*) ROOT=${1#--root=}; ROOT=${ROOT%/} ;;
        --wheel) [ $# -ge 2 ] || die "--wheel needs a file"; WHEEL=$2; shift ;;
        --wheel=*) WHEEL=${1#--wheel=} ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON=$2; shift ;;
        --python=*) PYTHON=${1#--python=} ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
    ROOT=$(cd "$ROOT" && pwd)
fi

OPT=$ROOT/opt/$NAME
VENV=$OPT/venv
ETC=$ROOT/etc/$NAME
CONFIG=$ETC/wattlog.toml
ENV_FILE=$ETC/env
STATE=$ROOT/var/lib/$NAME
UNIT_DEST=$ROOT/etc/systemd/system/$NAME.service
# What the config and the unit name, on the target system (never below --root).
TARGET_STATE=/var/lib/$NAME
# enable/disable/is-enabled: through systemd when it runs, otherwise offline on the file tree
# (under --root, or in a chroot or container without systemd as init).
SYSTEMCTL=(systemctl)
if [ -n "$ROOT" ] || [ ! -d /run/systemd/system ]; then
    SYSTEMCTL=(systemctl "--root=${ROOT:-/}")
fi

if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo $0 ${ARGS[*]}"
fi

# -- helpers ------------------------------------------------------------------------------------

# Set mode (and owner, outside --root) of PATH if they differ.
ensure_perms() {  # ensure_perms PATH MODE OWNER:GROUP
    local path=$1 mode=$2 owner=$3 have
    if [ "$DRY_RUN" = 1 ] && [ ! -e "$path" ]; then
        printf 'would run: chmod %s %s\n' "$mode" "$path"
        [ -n "$ROOT" ] || printf 'would run: chown %s %s\n' "$owner" "$path"
        return
    fi
    have=$(stat -c '%a' "$path")
    if [ "$have" != "${mode#0}" ]; then run chmod "$mode" "$path"; else ok "$path mode $mode"; fi
    if [ -z "$ROOT" ]; then
        have=$(stat -c '%U:%G' "$path")
        if [ "$have" != "$owner" ]; then run chown "$owner" "$path"; else ok "$path owner $owner"; fi
    fi
}

ensure_dir() {  # ensure_dir PATH MODE OWNER:GROUP
    if [ ! -d "$1" ]; then run mkdir -p "$1"; fi
    ensure_perms "$@"
}

# True when systemd is the init of this machine and we install into it (not under --root).
systemd_running() {
    [ -z "$ROOT" ] && [ -d /run/systemd/system ]
}


# The version of the package this run would install: from the wheel's file name or pyproject.toml.
wanted_version() {
    if [ -n "$WHEEL" ]; then
        basename "$WHEEL" | cut -d- -f2
    else
        sed -n 's/^version *= *"\(.*\)"/\1/p' "$SRC_DIR/pyproject.toml" | head -n 1
    fi
}

installed_version() {
    [ -x "$VENV/bin/python" ] || return 0
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("wattlog"))' 2>/dev/null || true
}

# Run `wattlog check` as the service will: as the wattlog user, with the variables of the env file.
check_config() {
    local args=() line key value
    if [ -r "$ENV_FILE" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line#"${line%%[![:space:]]*}"}
            case "$line" in ''|'#'*|';'*) continue ;; esac
            key=${line%%=*}
            value=${line#*=}
            [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
            if [[ $value == \"*\" || $value == \'*\' ]]; then value=${value:1:${#value}-2}; fi
            args+=("$key=$value")
        done < "$ENV_FILE"
    fi
    if [ -z "$ROOT" ] && [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
        (cd / && runuser -u "$SERVICE_USER" -- env "${args[@]}" "$VENV/bin/wattlog" check --config "$CONFIG")
    else
        env "${args[@]}" "$VENV/bin/wattlog" check --config "$CONFIG"
    fi
}

# -- uninstall ----------------------------------------------------------------------------------

uninstall() {
    if [ -e "$UNIT_DEST" ]; then
        if systemd_running && systemctl is-active --quiet "$NAME"; then
            run systemctl stop "$NAME"
        fi
        if command -v systemctl >/dev/null \
                && "${SYSTEMCTL[@]}" is-enabled --quiet "$NAME.service" 2>/dev/null; then
            run "${SYSTEMCTL[@]}" disable "$NAME.service"
        fi
        run rm -f "$UNIT_DEST"
        if systemd_running; then run systemctl daemon-reload; fi
    else
        ok "no unit at $UNIT_DEST"
    fi
    if [ -d "$OPT" ]; then run rm -rf "$OPT"; else ok "no $OPT"; fi
    say ""
    say "wattlog is removed. Kept, on purpose:"
    say "  $ETC (config and secrets)"
    say "  $STATE (database, spool, CSV files, log)"
    say "  the user $SERVICE_USER"
    say "To remove those too:  sudo rm -rf $ETC $STATE && sudo userdel $SERVICE_USER"
}

# -- install ------------------------------------------------------------------------------------

# True when the interpreter lives where the service (ProtectHome=yes, user wattlog) cannot go.
hidden_python() {  # hidden_python PATH
    local real
    real=$(readlink -f "$1" 2>/dev/null) || return 1
    case "$real" in /root/*|/home/*|/run/user/*) return 0 ;; *) return 1 ;; esac
}

check_python() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: sudo apt-get install -y python3 python3-venv"
    if hidden_python "$(command -v "$PYTHON")"; then
        die "$PYTHON is $(readlink -f "$(command -v "$PYTHON")"): the service cannot use an interpreter under /root or /home; use --python /usr/bin/python3"
    fi
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "wattlog needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)"
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        if [ -z "$ROOT" ] && command -v apt-get >/dev/null; then
            run apt-get install -y python3-venv
        else
            die "$PYTHON cannot create a venv: install python3-venv"
        fi
    fi
}

ensure_user() {
    if [ -n "$ROOT" ]; then
        system useradd --system --user-group --groups dialout "$SERVICE_USER"
        return
    fi
    if ! getent group dialout >/dev/null; then run groupadd --system dialout; fi
    if id "$SERVICE_USER" >/dev/null 2>&1; then
        ok "user $SERVICE_USER exists"
        if id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx dialout; then
            ok "user $SERVICE_USER is in group dialout"
        else
            run usermod -a -G dialout "$SERVICE_USER"
        fi
    else
        run useradd --system --user-group --groups dialout --home-dir "$TARGET_STATE" \
            --no-create-home --shell /usr/sbin/nologin --comment "wattlog power meter logger" \
            "$SERVICE_USER"
    fi
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null \
            && ! hidden_python "$VENV/bin/python"; then
        ok "venv $VENV"
    else
        # Absent, broken (its Python is gone after an OS upgrade) or built on an interpreter the
        # service cannot reach: make it (again).
        check_python
        ensure_dir "$OPT" 0755 root:root
        run "$PYTHON" -m venv --clear "$VENV"
        CHANGED=1
    fi
    local want have source
    want=$(wanted_version)
    have=$(installed_version)
    if [ -n "$WHEEL" ]; then
        [ -f "$WHEEL" ] || die "--wheel $WHEEL: no such file"
        source=$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")
    else
        grep -q '^name *= *"wattlog"' "$SRC_DIR/pyproject.toml" 2>/dev/null \
            || die "$SRC_DIR is not the wattlog source tree (run deploy/install.sh from a checkout, or use --wheel)"
        source=$SRC_DIR
    fi
    if [ -n "$have" ] && [ "$have" = "$want" ] && [ "$REINSTALL" = 0 ]; then
        ok "wattlog $have installed in $VENV (--reinstall to install it again)"
        return
    fi
    if [ -z "$WHEEL" ] && [ "$DRY_RUN" = 0 ]; then
        # Build from a copy: an in-tree build would leave root-owned build/ and *.egg-info
        # folders in the checkout.
        BUILD_DIR=$(mktemp -d)
        trap 'rm -rf "$BUILD_DIR"' EXIT
        tar -C "$SRC_DIR" --exclude=__pycache__ --exclude='*.egg-info' -cf - pyproject.toml README.md src \
            | tar -C "$BUILD_DIR" -xf -
        source=$BUILD_DIR
    fi
    if [ "$REINSTALL" = 1 ]; then
        run "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$source"
    fi
    run "$VENV/bin/python" -m pip install --quiet --upgrade --upgrade-strategy only-if-needed "$source"
    CHANGED=1
}

# `wattlog init` writes paths relative to the config file ("data", "data/csv", ...). Under
# /etc/wattlog those would point into a read-only /etc: move them all to /var/lib/wattlog.
rewrite_paths() {  # rewrite_paths FILE
    sed -i \
        -e "s#^\\([[:space:]]*url[[:space:]]*=[[:space:]]*\"sqlite:///\\)data/#\\1$TARGET_STATE/#" \
        -e "s#^\\([[:space:]]*[a-z_]*[[:space:]]*=[[:space:]]*\"\\)data\"#\\1$TARGET_STATE\"#" \
        -e "s#^\\([[:space:]]*[a-z_]*[[:space:]]*=[[:space:]]*\"\\)data/#\\1$TARGET_STATE/#" \
        "$1"
    if grep -Eq '^[[:space:]]*[a-z_]+[[:space:]]*=[[:space:]]*"(sqlite:///)?data(/|")' "$1"; then
        warn "$1 still has paths relative to /etc/wattlog; set them to $TARGET_STATE by hand"
    fi
}

ensure_config() {
    ensure_dir "$ETC" 0750 "root:$SERVICE_USER"
    if [ -e "$CONFIG" ]; then
        ok "$CONFIG exists (not touched)"
    elif [ "$DRY_RUN" = 1 ]; then
        say "would run: $VENV/bin/wattlog init $CONFIG  (paths set to $TARGET_STATE)"
        CONFIG_CREATED=1
    else
        run "$VENV/bin/wattlog" init "$CONFIG"
        rewrite_paths "$CONFIG"
        CONFIG_CREATED=1
    fi
    ensure_perms "$CONFIG" 0640 "root:$SERVICE_USER"

    if [ -e "$ENV_FILE" ]; then
        ok "$ENV_FILE exists (not touched)"
    elif [ "$DRY_RUN" = 1 ]; then
        say "would write $ENV_FILE (mode 600, comments only)"
    else
        say "+ write $ENV_FILE"
        (umask 077 && cat > "$ENV_FILE" <<'EOF'
# Secrets for the wattlog service, read by systemd (EnvironmentFile=). Keep this file mode 600.
# One NAME=value per line; name them in wattlog.toml with password_env = "NAME".
# WATTLOG_DB_PASSWORD=
# WATTLOG_MQTT_PASSWORD=
EOF
        )
    fi
    ensure_perms "$ENV_FILE" 0600 root:root
    ensure_dir "$STATE" 0750 "$SERVICE_USER:$SERVICE_USER"
}

ensure_unit() {
    [ -f "$UNIT_SRC" ] || die "$UNIT_SRC is missing"
    ensure_dir "$(dirname "$UNIT_DEST")" 0755 root:root
    if [ -f "$UNIT_DEST" ] && cmp -s "$UNIT_SRC" "$UNIT_DEST"; then
        ok "$UNIT_DEST is up to date"
    else
        run install -m 0644 "$UNIT_SRC" "$UNIT_DEST"
        UNIT_CHANGED=1
        CHANGED=1
    fi
    if [ "$UNIT_CHANGED" = 1 ] && systemd_running; then run systemctl daemon-reload; fi
    if ! command -v systemctl >/dev/null; then
        warn "systemctl not found: enable $NAME.service once systemd manages this system"
    elif [ "$DRY_RUN" = 1 ] && [ ! -e "$UNIT_DEST" ]; then
        say "would run: systemctl enable $NAME"
    elif "${SYSTEMCTL[@]}" is-enabled --quiet "$NAME.service" 2>/dev/null; then
        ok "$NAME.service is enabled"
    else
        run "${SYSTEMCTL[@]}" enable "$NAME.service"
    fi
}

start_if_checked() {
    if [ "$CONFIG_CREATED" = 1 ]; then
        say ""
        say "Next: edit $CONFIG: your meters (find them with \`wattlog scan\`), databases, MQTT;"
        say "passwords go in $ENV_FILE (NAME=value), named in the config with password_env."
        say "Then run this installer again: it checks the config as the service will see it and"
        say "starts the service when the check passes ($0 --check only checks)."
        say "Logs: journalctl -u $NAME -f"
        return
    fi
    if [ ! -x "$VENV/bin/wattlog" ]; then  # only in --dry-run: nothing is installed yet
        say "would run: wattlog check --config $CONFIG, then start $NAME if it is ok"
        return
    fi
    # The check changes nothing, so --dry-run runs it too.
    if [ -n "$ROOT" ] || [ "$(id -u)" != 0 ]; then
        say "checking $CONFIG:"
    else
        say "checking $CONFIG as user $SERVICE_USER:"
    fi
    if ! check_config; then
        warn "the config has problems (above); $NAME is enabled but not started."
        warn "fix $CONFIG, then run this installer again (or: sudo systemctl restart $NAME)"
        return 1
    fi
    if [ -n "$ROOT" ]; then
        system systemctl start "$NAME"
        return
    fi
    if ! systemd_running; then
        warn "systemd is not running here: start wattlog by hand"
        return
    fi
    if [ "$NO_START" = 1 ]; then
        ok "not started (--no-start): sudo systemctl start $NAME"
    elif ! systemctl is-active --quiet "$NAME"; then
        run systemctl start "$NAME"
        say "started: journalctl -u $NAME -f"
    elif [ "$CHANGED" = 1 ]; then
        run systemctl restart "$NAME"
        say "restarted with the new version: journalctl -u $NAME -f"
    else
        ok "$NAME is running (after editing the config: sudo systemctl restart $NAME)"
    fi
}

main() {
    if [ "$UNINSTALL" = 1 ]; then
        uninstall
        return
    fi
    if [ "$CHECK_ONLY" = 1 ]; then
        [ -x "$VENV/bin/wattlog" ] || die "wattlog is not installed in $VENV"
        check_config
        return
    fi
    ensure_user
    ensure_venv
    ensure_config
    ensure_unit
    start_if_checked
}

main
