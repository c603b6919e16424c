# Shell helpers of the setup scripts (scripts/setup.sh, local/setup.sh); source it, with VENV set.

# macOS has neither flock nor sha256sum: without flock, concurrent setups are not serialised (run one at a time);
# shasum -a 256 is the same digest.
lock() { if command -v flock >/dev/null 2>&1; then flock "$@"; fi; }
sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi; }

step() { printf '\n==> %s\n' "$*"; }

# pip_install NAME FILE... : `pip install -r` the first FILE into .venv unless the stamp NAME-<hash of every FILE>
# is there (one pip at a time in this venv: other setup scripts take the same lock).
pip_install() {
  local name="$1" file="$2" hash
  shift
  hash="$(cat "$@" | sha256 | cut -c1-16)"
  if [ -f "$VENV/.$name-$hash.stamp" ]; then
    echo "python tools ($file) up to date"
    return
  fi
  step "pip install -r $file"
  exec 9>"$VENV/.pip-install.lock"
  lock 9
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$file"
  lock -u 9
  rm -f "$VENV"/."$name"-*.stamp
  touch "$VENV/.$name-$hash.stamp"
}

