#!/usr/bin/env bash
# Build the RetVis Linux desktop bundle (PyInstaller --onedir) into installer/dist/retvis.
#
#   bash installer/build.sh            # build + trim + desktop entry (+ tarball with --tar)
#   bash installer/build.sh --tar      # also installer/dist/retvis-<version>-linux-x86_64.tar.gz
#
# Needs: the project's dependencies in the python3 on PATH (or $PYTHON) and
# `pip install pyinstaller`. Not part of CI (takes minutes; see installer/README.md).
# Runs at nice 19: it is CPU-heavy.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
DIST="$HERE/dist"
WORK="$HERE/build"
cd "$ROOT"

"$PYTHON" -c "import PyInstaller" 2>/dev/null || {
    echo "PyInstaller is missing: $PYTHON -m pip install pyinstaller" >&2
    exit 2
}
VERSION="$("$PYTHON" -c 'import retvis; print(retvis.__version__)')"

t0=$(date +%s)
nice -n 19 "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$HERE/retvis.spec"
t1=$(date +%s)
APP="$DIST/retvis"
INT="$APP/_internal"
before=$(du -sm "$APP" | cut -f1)

# --- trim what the hooks collect but RetVis never loads ---------------------------------
rm -rf "$INT/torch/include" "$INT/torch/share" "$INT/torch/test" "$INT/torch/testing/_internal/data" \
       "$INT/torch/_inductor/codegen/aoti_runtime" "$INT/torch/utils/benchmark" \
       "$INT/torch/lib/"*.a \
       "$INT/pyarrow/include" "$INT/pyarrow/src" "$INT/pyarrow/tests" \
       "$INT/numpy/_core/include" "$INT/numpy/_core/tests" "$INT/numpy/random/_examples" \
       "$INT/scipy/datasets" "$INT/matplotlib/mpl-data/sample_data" \
       "$INT/PySide6/Qt/translations" "$INT/PySide6/Qt/qml" "$INT/PySide6/Qt/resources/qtwebengine"* \
       2>/dev/null || true
find "$INT/torch/bin" -mindepth 1 -maxdepth 1 ! -name torch_shm_manager -exec rm -rf {} + 2>/dev/null || true
rm -f "$INT/pyarrow/"libarrow_flight.so* "$INT/pyarrow/"libarrow_s3.so* "$INT/"libarrow_flight.so* "$INT/"libarrow_s3.so*
find "$INT" -depth -type d \( -name tests -o -name test -o -name __pycache__ \) \
     -not -path "*/retvis/*" -exec rm -rf {} + 2>/dev/null || true
find "$INT" -type f \( -name "*.pyi" -o -name "*.h" -o -name "*.hpp" -o -name "*.cmake" \) -delete

# --- launchers and desktop integration -------------------------------------------------
ln -sf retvis "$APP/retvis-app"
cp "$ROOT/resources/icons/retvis.png" "$ROOT/resources/icons/retvis.svg" "$APP/"
cp "$HERE/retvis.desktop" "$APP/retvis.desktop"
cat > "$APP/install-desktop-entry.sh" <<'EOS'
#!/usr/bin/env bash
# Add RetVis to the desktop menu of this user (Exec points at this folder).
set -euo pipefail
APP="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/256x256/apps" "$DATA/icons/hicolor/scalable/apps"
cp "$APP/retvis.png" "$DATA/icons/hicolor/256x256/apps/retvis.png"
cp "$APP/retvis.svg" "$DATA/icons/hicolor/scalable/apps/retvis.svg"
sed "s|^Exec=retvis-app|Exec=\"$APP/retvis-app\"|" "$APP/retvis.desktop" > "$DATA/applications/retvis.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "installed $DATA/applications/retvis.desktop"
EOS
chmod +x "$APP/install-desktop-entry.sh"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$APP/retvis.desktop"; fi

after=$(du -sm "$APP" | cut -f1)
echo "bundle: $APP"
echo "build time: $((t1 - t0)) s; size: ${before} MiB before trimming, ${after} MiB after"
if [[ "${1:-}" == "--tar" ]]; then
    TAR="$DIST/retvis-$VERSION-linux-$(uname -m).tar.gz"
    tar -C "$DIST" -czf "$TAR" retvis
    echo "archive: $TAR ($(du -sm "$TAR" | cut -f1) MiB)"
fi
