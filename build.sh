#!/usr/bin/env bash
# Build Cartera's extension for Chromium and Firefox, and run every test.
#
#   ./build.sh        install missing tools, build the wasm core (release) and assemble
#                     dist/chrome/, dist/firefox/, dist/cartera-chrome.zip, dist/cartera-firefox.zip
#   ./build.sh test   build, then: the size budget, cargo test, wasm tests, theme contrast, Chromium
#                     end-to-end suite, web-ext lint, Firefox smoke test, reproducible-zip check
#   ./build.sh demo   build, then open Chromium on sample accounts across every exchange, served by
#                     the local stand-ins (--ready: accounts added first; headless without a display:
#                     screenshots in target/demo/)
#   ./build.sh bench  build, then measure sizes, signing, valuation, unlock, popup paint, refresh,
#                     memory and a first history import; prints a table and writes BENCHMARKS.md
#                     (bench/run.mjs)
#   ./build.sh release  on a clean tree whose versions agree: build, check the zips are
#                     reproducible, and write dist/release/: both packages, the source archive and
#                     how to rebuild it, and per language the store listing, privacy policy,
#                     screenshots and promotional tile; the source archive must rebuild the same zips
#
# Tools are checked before they are installed, so a warm machine skips every install.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

export TZ=UTC LC_ALL=C
umask 022
# Built from a git checkout, or from a source archive of one (git archive: no .git, and
# tools/source-date-epoch holds the commit's time, filled in by export-subst in .gitattributes).
IN_GIT=0
[[ $(git rev-parse --show-toplevel 2>/dev/null) == "$ROOT" ]] && IN_GIT=1
commit_time() {
  local archived
  if ((IN_GIT)); then
    git log -1 --format=%ct
    return
  fi
  archived=$(cat tools/source-date-epoch 2>/dev/null || true)
  if [[ $archived =~ ^[0-9]+$ ]]; then echo "$archived"; else echo 315532800; fi
}
# Every file in the zips gets this mtime: the commit's time, read once per run.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(commit_time)}
export SOURCE_DATE_EPOCH

WASM_PACK_VERSION=0.15.1
# The compiler a release is built with, as SOURCE-BUILD.md tells its reviewers.
RUST_VERSION=1.95.0
GECKODRIVER_VERSION=0.37.0
TWIGGY_VERSION=0.8.0
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
# Panic locations in the wasm name the crates' source files: relative to the registry, so the
# module names no path of the machine that built it and is the same bytes on any machine.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src/="
# npm's binaryen (wasm-opt 132) must win over Debian's wasm-opt 108, which breaks init().
export PATH="$ROOT/node_modules/.bin:$CARGO_BIN:$PATH"

STEP_START=0
STEP_NAME=
step() {
  STEP_START=$SECONDS
  STEP_NAME=$*
  printf '\n==== %s ====\n' "$*"
}
step_done() { printf -- '---- done in %ss\n' "$((SECONDS - STEP_START))"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
APT_UPDATED=0
# apt_need <command> <debian package>... : install the packages whose command is missing.
apt_need() {
  local missing=() cmd pkg
  while (($#)); do
    cmd=$1 pkg=$2; shift 2
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing system packages; install them with: sudo apt-get install -y ${missing[*]}"
  fi
  echo "installing from apt: ${missing[*]}"
  if ((!APT_UPDATED)); then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cargo_tool <binary> <crate> <version> [--locked] : cargo install unless the binary reports that
# version. With --locked the tool's own Cargo.lock pins every dependency, so a new release of one
# of them cannot change what builds the extension.
cargo_tool() {
  local bin=$1 crate=$2 version=$3 locked=${4:-}
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -qE " ${version//./\\.}( |\$)"; then
    return 0
  fi
  echo "installing $crate $version with cargo (takes a couple of minutes)"
  cargo install --quiet $locked "$crate" --version "$version"
}

# wasm_bindgen_cli <version>: installs wasm-bindgen-cli <version>, the crate that emits the
# shipped glue, checked against the checksum crates.io's index gives for it
# (tools/wasm-bindgen-cli-<version>.crate.sha256) and built --locked to the lockfile in tools/.
# The crate's own lockfile names webpki-roots 1.0.11, which crates.io no longer serves, so a plain
# `cargo install --locked` cannot resolve; the committed lockfile is the crate's with that one
# entry moved to 1.0.10 (`cargo update -p webpki-roots --precise 1.0.10`), every other dependency
# as its authors locked it.
wasm_bindgen_cli() {
  local version=$1 lock=$ROOT/tools/wasm-bindgen-cli-$1.lock sum=$ROOT/tools/wasm-bindgen-cli-$1.crate.sha256 work
  if command -v wasm-bindgen >/dev/null 2>&1 && wasm-bindgen --version 2>/dev/null | grep -qE " ${version//./\\.}( |\$)"; then
    return 0
  fi
  [[ -f $lock && -f $sum ]] || die "no tools/wasm-bindgen-cli-$version.{lock,crate.sha256}: make them for the wasm-bindgen in Cargo.lock (see above)"
  echo "installing wasm-bindgen-cli $version with cargo --locked (takes a couple of minutes)"
  work=$(mktemp -d)
  curl -sSfL -o "$work/wasm-bindgen-cli-$version.crate" "https://static.crates.io/crates/wasm-bindgen-cli/wasm-bindgen-cli-$version.crate"
  (cd "$work" && sha256sum --check --quiet "$sum") || die "wasm-bindgen-cli $version does not match its pinned checksum"
  tar xzf "$work/wasm-bindgen-cli-$version.crate" -C "$work"
  cp "$lock" "$work/wasm-bindgen-cli-$version/Cargo.lock"
  cargo install --quiet --locked --path "$work/wasm-bindgen-cli-$version"
  rm -rf "$work"
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_build_tools() {
  step "tools"
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  command -v npm >/dev/null || die "node and npm not found: install Node.js 20 or newer first"
  apt_need jq jq zip zip curl curl
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION" --locked
  local wbg
  wbg=$(wasm_bindgen_version)
  [[ -n $wbg ]] || die "no wasm-bindgen in Cargo.lock"
  wasm_bindgen_cli "$wbg"
  # npm ci only when package-lock.json changed since the last install. No install scripts run:
  # none of these tools needs one, and the machine that builds the zips runs no package's code
  # but the build tools themselves.
  npm_ci_if_changed .
  # npm's binaryen (wasm-opt 132) must come first on PATH: Debian's wasm-opt 108 breaks init().
  [[ $(command -v wasm-opt) == "$ROOT/node_modules/.bin/wasm-opt" ]] || die "wasm-opt is not npm's binaryen"
  step_done
}

# npm_ci_if_changed <dir>: npm ci --ignore-scripts in <dir> when its lockfile changed.
npm_ci_if_changed() {
  local dir=$1 lock_sum stamp=$1/node_modules/.cartera-lock.sha256
  lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$lock_sum" ]]; then
    npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$lock_sum" >"$stamp"
  fi
}

ensure_test_tools() {
  step "test tools"
  # Xvfb and xdotool: the news test answers the browser's own permission prompt with the keyboard.
  apt_need openssl openssl /usr/lib/chromium/chromium chromium chromedriver chromium-driver \
    firefox-esr firefox-esr Xvfb xvfb xdotool xdotool
  cargo_tool geckodriver geckodriver "$GECKODRIVER_VERSION" --locked
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  step_done
}

# ---------------------------------------------------------------- build
# build_wasm <out dir>: release build of the crate with the pinned tools, nothing downloaded.
build_wasm() {
  local out=$1
  wasm-pack build --mode no-install --target web --release --out-dir "$out" --out-name cartera
  rm -f "$out/package.json" "$out/.gitignore" "$out/README.md" "$out/LICENSE"*
}


# The files of extension/ that ship, NUL-separated: those git tracks, or in a source archive
# (which holds nothing else) every file but the wasm build's.
extension_files() {
  if ((IN_GIT)); then
    git ls-files -z extension
  else
    find extension -path extension/wasm -prune -o -type f -print0
  fi
}

# assemble <wasm dir> <dist dir>: per-browser folders and reproducible zips.
assemble() {
  local wasm=$1 dist=$2 browser dir epoch
  [[ -f manifest.json ]] || die "manifest.json is missing: nothing to package"
  [[ -d extension ]] || die "extension/ is missing: nothing to package"
  [[ -f $wasm/cartera.js && -f $wasm/cartera_bg.wasm ]] || die "no wasm build in $wasm"
  epoch=$SOURCE_DATE_EPOCH
  mkdir -p "$dist"
  for browser in chrome firefox; do
    dir=$dist/$browser
    rm -rf "$dir" "$dist/cartera-$browser.zip"
    mkdir -p "$dir"
    # Tracked files only (a stray local file never ships); the wasm build comes from $wasm.
    extension_files | while IFS= read -r -d '' file; do
      mkdir -p "$dir/$(dirname "${file#extension/}")"
      cp "$file" "$dir/${file#extension/}"
    done
    # The changelog page (extension/changelog/) shows the repository's changelog.
    mkdir -p "$dir/changelog"
    cp CHANGELOG.md "$dir/changelog/CHANGELOG.md"
    mkdir -p "$dir/wasm"
    cp -R "$wasm/." "$dir/wasm/"
    rm -f "$dir/wasm/package.json" "$dir/wasm/.gitignore" "$dir/wasm/README.md"
    find "$dir" \( -name '*.d.ts' -o -name '.*' \) -prune -exec rm -rf {} +
    # The popup must paint as fast as a static page: one stylesheet and one script.
    node tools/bundle-page.mjs "$dir" popup/popup.html >/dev/null
    # Comments and indentation do not earn their bytes in what ships; extension/ stays readable.
    node tools/minify.mjs "$dir" >/dev/null
    case $browser in
      chrome)
        jq --indent 2 'del(.browser_specific_settings) | if .background then .background |= del(.scripts) else . end' \
          manifest.json >"$dir/manifest.json" ;;
      firefox)
        # Firefox has no externally_connectable (nothing outside can message the extension) and
        # takes its minimum version from browser_specific_settings.
        jq --indent 2 '.background = { scripts: [ .background.service_worker // "background.js" ], type: "module" }
          | del(.externally_connectable, .minimum_chrome_version)' \
          manifest.json >"$dir/manifest.json" ;;
    esac
    # Same bytes from the same commit: fixed modes and times, sorted entries, no extra attributes.
    find "$dir" -type d -exec chmod 755 {} +
    find "$dir" -type f -exec chmod 644 {} +
    find "$dir" -exec touch -h -d "@$epoch" {} +
    (cd "$dir" && find . -type f | sed 's|^\./||' | sort | zip -X -D -q "../cartera-$browser.zip" -@)
  done
}

build() {
  ensure_build_tools
  step "wasm (release)"
  build_wasm extension/wasm
  ls -l extension/wasm
  step_done
  step "assemble dist/"
  assemble extension/wasm dist
  ls -l dist/*.zip
  step_done
}

# ---------------------------------------------------------------- tests
LOG_DIR=
run_logged() { # run_logged <name> <command...>: tee output to $LOG_DIR/<name>.log, keep the exit code
  local name=$1; shift
  "$@" 2>&1 | tee "$LOG_DIR/$name.log"
  return "${PIPESTATUS[0]}"
}

# Integration test targets (tests/<name>.rs) written with wasm_bindgen_test.
wasm_test_targets() {
  local file
  for file in tests/*.rs; do
    [[ -f $file ]] && grep -q 'wasm_bindgen_test' "$file" && basename "$file" .rs
  done
  return 0
}

lint_firefox() {
  local out=$LOG_DIR/web-ext-lint.json errors
  # web-ext exits non-zero on errors; the JSON is what we judge.
  web-ext lint --source-dir dist/firefox --output json --no-input >"$out" || true
  errors=$(jq '.summary.errors // (.errors | length)' "$out") || die "web-ext lint printed no JSON: $(head -c 2000 "$out")"
  jq -r '(.errors + .warnings)[] | "\(._type // "?") \(.code): \(.message) [\(.file // "")]"' "$out" || true
  echo "web-ext lint: $errors errors, $(jq '.summary.warnings' "$out") warnings, $(jq '.summary.notices' "$out") notices"
  [[ $errors == 0 ]] || die "web-ext lint found $errors errors"
}

check_reproducible() {
  local tmp browser
  tmp=$(mktemp -d)
  build_wasm "$tmp/wasm" >"$LOG_DIR/rebuild.log" 2>&1 || { cat "$LOG_DIR/rebuild.log"; die "rebuild failed"; }
  assemble "$tmp/wasm" "$tmp/dist"
  for browser in chrome firefox; do
    if ! cmp "dist/cartera-$browser.zip" "$tmp/dist/cartera-$browser.zip"; then
      diff <(unzip -lv "dist/cartera-$browser.zip") <(unzip -lv "$tmp/dist/cartera-$browser.zip") || true
      die "cartera-$browser.zip differs between two builds of the same commit"
    fi
    echo "cartera-$browser.zip: identical ($(sha256sum <"dist/cartera-$browser.zip" | cut -c1-16)…)"
  done
  rm -rf "$tmp"
}

# Sum what cargo and node's test runner reported, for one closing line. A step that failed
# without a test runner counting it (build, lint, reproducibility) counts as one failure.
summarise() {
  local status=$1 passed=0 failed=0 p f
  while read -r p f; do
    passed=$((passed + p)) failed=$((failed + f))
  done < <(
    cat "$LOG_DIR"/*.log 2>/dev/null |
      sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p'
    for log in "$LOG_DIR"/node-*.log; do
      [[ -f $log ]] || continue
      p=$(sed -nE 's/^(# |ℹ )pass ([0-9]+)$/\2/p' "$log" | tail -1)
      f=$(sed -nE 's/^(# |ℹ )fail ([0-9]+)$/\2/p' "$log" | tail -1)
      echo "${p:-0} ${f:-0}"
    done
  )
  if ((status != 0)); then
    printf '\nFAILED at step: %s\n' "$STEP_NAME"
    ((failed > 0)) || failed=1
  fi
  printf '\nbuild.sh test took %ss\n' "$SECONDS"
  printf '\n%s passed, %s failed\n' "$passed" "$failed"
}

run_tests() {
  ensure_test_tools
  LOG_DIR=$(mktemp -d)
  trap 'summarise $?; rm -rf "$LOG_DIR"' EXIT

  step "size budget (tools/size-budget.mjs)"
  run_logged size-budget node tools/size-budget.mjs dist/chrome
  step_done

  step "cargo test (native)"
  run_logged cargo-test cargo test --workspace
  step_done

  # The lints Cargo.toml denies (unwrap, expect, float arithmetic) are clippy's: without this step
  # nothing would hold the code to them. Other clippy warnings are printed, not fatal, so a newer
  # toolchain's new lints cannot fail a build. Doc links must resolve.
  step "lints (clippy native and wasm32, rustdoc links)"
  run_logged clippy-native cargo clippy --all-targets
  run_logged clippy-wasm cargo clippy --target wasm32-unknown-unknown --features bench
  RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links -D rustdoc::private_intra_doc_links" run_logged rustdoc cargo doc --no-deps
  step_done

  local targets=() target
  while read -r target; do targets+=(--test "$target"); done < <(wasm_test_targets)
  if ((${#targets[@]})); then
    step "wasm tests (${targets[*]}; headless Chromium where run_in_browser)"
    # The runner from the pinned wasm-bindgen-cli runs node tests in node and browser tests
    # through chromedriver; only the integration targets, since proptest cannot build for wasm32.
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
      CHROMEDRIVER="$(command -v chromedriver)" \
      run_logged wasm-test cargo test --target wasm32-unknown-unknown "${targets[@]}"
    step_done
  else
    echo "(no wasm_bindgen_test integration tests: wasm tests skipped)"
  fi

  step "page checks (node --test tests/ui/: theme contrast, locale files)"
  run_logged node-ui node --test tests/ui/
  step_done

  step "Chromium end-to-end (node --test tests/e2e/)"
  run_logged node-e2e node --test --test-concurrency=1 tests/e2e/
  step_done

  step "demo without a display (tests/demo/demo.mjs --headless)"
  run_logged demo node tests/demo/demo.mjs --headless
  step_done

  step "web-ext lint (dist/firefox)"
  lint_firefox
  step_done

  step "Firefox smoke test"
  run_logged node-firefox node --test tests/firefox/smoke.mjs
  step_done

  step "reproducible zips"
  check_reproducible
  step_done
}

# ---------------------------------------------------------------- bench
# run_bench: the bench-only wasm (--features bench: extra exports, never shipped) and the native
# valuation and prices-at-scale binaries (each in the shipped release profile and at opt-level 3),
# then bench/run.mjs, which prints the table and writes BENCHMARKS.md.
run_bench() {
  apt_need openssl openssl gzip gzip /usr/lib/chromium/chromium chromium
  # ccxt, the size and signing baseline, is installed for the benchmark only; twiggy breaks the
  # wasm down by function.
  npm_ci_if_changed bench
  cargo_tool twiggy twiggy "$TWIGGY_VERSION" --locked
  step "bench builds"
  # Own target dir: a concurrent shipped build must never pick up this feature's artifact.
  CARGO_TARGET_DIR=target/bench-wasm-target wasm-pack build --mode no-install --target nodejs --release \
    --out-dir target/bench-wasm --out-name cartera_bench . -- --features bench
  cargo build --release --example bench_valuation --example bench_prices --features bench
  CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_TARGET_DIR=target/bench-o3 cargo build --release --example bench_valuation --example bench_prices --features bench
  step_done
  step "bench (bench/run.mjs)"
  node bench/run.mjs
  step_done
}

# ---------------------------------------------------------------- demo
# run_demo [--ready|--headless]: the built extension in Chromium against the exchange stand-ins
# with sample keys (tests/demo/demo.mjs). Headless where there is no display.
run_demo() {
  apt_need openssl openssl /usr/lib/chromium/chromium chromium
  node tests/demo/demo.mjs "$@"
}

# ---------------------------------------------------------------- release
# require_clean_tree <why>: nothing modified, staged or untracked (ignored files aside).
require_clean_tree() {
  local dirty
  ((IN_GIT)) || die "release: run it in a git checkout"
  dirty=$(git status --porcelain)
  [[ -z $dirty ]] || die "release: the git tree is not clean ($1):
$dirty"
}

# build_info <version>: what the release's packages were built from and with.
build_info() {
  cat <<EOF
Cartera $1
commit        $(git rev-parse HEAD)
commit time   $SOURCE_DATE_EPOCH ($(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ))
rustc         $(rustc --version)
wasm-pack     $(wasm-pack --version)
wasm-bindgen  $(wasm-bindgen --version)
wasm-opt      $(wasm-opt --version)
node          $(node --version)
npm           $(npm --version)
zip           $(zip -v | sed -n 2p | sed 's/^ *//')

SHA-256 of the packages (dist/ after ./build.sh)
$(cd dist && sha256sum cartera-chrome.zip cartera-firefox.zip)
EOF
}

# check_source_archive <archive> <version>: builds the packages again from the source archive
# alone, in another folder (no .git, its own cargo target), and requires the same bytes.
check_source_archive() {
  local archive=$1 version=$2 tmp src browser
  tmp=$(mktemp -d)
  tar -xzf "$archive" -C "$tmp"
  src=$tmp/cartera-$version
  # The npm tools of the same package-lock.json, as this checkout installed them (npm ci would
  # fetch the same versions again).
  ln -s "$ROOT/node_modules" "$src/node_modules"
  if ! (cd "$src" && env -u SOURCE_DATE_EPOCH -u CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS \
    CARGO_TARGET_DIR="$tmp/target" ./build.sh build) >"$LOG_DIR/source-build.log" 2>&1; then
    tail -n 40 "$LOG_DIR/source-build.log"
    die "the source archive does not build"
  fi
  for browser in chrome firefox; do
    if ! cmp "dist/cartera-$browser.zip" "$src/dist/cartera-$browser.zip"; then
      diff <(unzip -lv "dist/cartera-$browser.zip") <(unzip -lv "$src/dist/cartera-$browser.zip") || true
      die "cartera-$browser.zip built from the source archive differs"
    fi
    echo "cartera-$browser.zip from the source archive: identical"
  done
  rm -rf "$tmp"
}

release() {
  local version out=dist/release
  step "release checks"
  require_clean_tree "commit or stash first"
  version=$(node tools/release/project.mjs check) || die "release: the versions and the changelog must agree first"
  [[ $(rustc --version) == "rustc $RUST_VERSION "* ]] ||
    die "release: SOURCE-BUILD.md tells reviewers rustc $RUST_VERSION; this is $(rustc --version)"
  node --test tests/ui/release.test.mjs >/dev/null || die "release: tests/ui/release.test.mjs fails"
  echo "Cartera $version"
  step_done
  build
  require_clean_tree "the build changed tracked files: commit them first"
  LOG_DIR=$(mktemp -d)
  trap 'rm -rf "$LOG_DIR"' EXIT
  step "reproducible zips"
  check_reproducible
  step_done
  step "packages, source archive and how to rebuild it ($out)"
  rm -rf "$out"
  mkdir -p "$out"
  cp dist/cartera-chrome.zip "$out/cartera-$version-chrome.zip"
  cp dist/cartera-firefox.zip "$out/cartera-$version-firefox.zip"
  build_info "$version" >"$out/BUILD-INFO.txt"
  git archive --format=tar --prefix="cartera-$version/" --add-file="$out/BUILD-INFO.txt" HEAD |
    gzip -9 -n >"$out/cartera-$version-source.tar.gz"
  cp CHANGELOG.md PRIVACY.md SOURCE-BUILD.md "$out/"
  step_done
  step "per language: store listing, privacy policy, screenshots, promotional tile"
  apt_need openssl openssl /usr/lib/chromium/chromium chromium
  node tools/release/release.mjs "$out"
  step_done
  step "the source archive builds the same packages"
  check_source_archive "$out/cartera-$version-source.tar.gz" "$version"
  step_done
  (cd "$out" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum >SHA256SUMS)
  printf '\nCartera %s is ready to submit: %s/\n' "$version" "$out"
  find "$out" -type f | sort
}

case ${1:-build} in
  build) build ;;
  test) build; run_tests ;;
  bench) build; run_bench ;;
  demo) build; shift; run_demo "$@" ;;
  release) release ;;
  *) die "usage: ./build.sh [build|test|bench|release|demo [--ready|--headless]]" ;;
esac
