#!/bin/sh
# Add cnn-desktop to your applications menu (optional: the program runs from this folder without it).
#
#   ./install.sh              install the menu entry and icons for the current user
#   ./install.sh --uninstall  remove them again
#
# Files go to ${XDG_DATA_HOME:-~/.local/share}/applications and .../icons/hicolor; nothing needs root.
# The menu entry runs the program from the folder this script is in, so keep the folder where it is
# (or run install.sh again after moving it).
set -eu

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "$0"
}

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor
exe=$here/cnn-desktop
sizes="16 32 48 64 128 256"

refresh_caches() {
    # Menus notice new files by themselves; the caches just make it immediate where the tools exist.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f "$icons" 2>/dev/null || true
    fi
}

case "${1:-}" in
    "" | --install) ;;
    --uninstall)
        rm -f "$apps/cnn-desktop.desktop"
        for size in $sizes; do
            rm -f "$icons/${size}x$size/apps/cnn-desktop.png"
        done
        refresh_caches
        echo "Removed cnn-desktop from the applications menu."
        exit 0
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac

if [ ! -x "$exe" ]; then
    echo "install.sh: $exe is missing; run install.sh from the unpacked cnn-desktop folder." >&2
    exit 1
fi
case "$exe" in
    *'"'* | *'`'* | *'$'* | *'\'* | *"
"*)
        echo "install.sh: the folder path $here contains a quote, \$, \\ or newline, which a menu entry" \
             "cannot hold; move the folder and run install.sh again." >&2
        exit 1
        ;;
esac

mkdir -p "$apps"
for size in $sizes; do
    if [ "$size" = 256 ]; then
        icon=$here/cnn-desktop.png
    else
        icon=$here/_internal/resources/icons/cnn-desktop-$size.png
    fi
    if [ -f "$icon" ]; then
        mkdir -p "$icons/${size}x$size/apps"
        cp -f "$icon" "$icons/${size}x$size/apps/cnn-desktop.png"
    fi
done

# The entry's Exec and TryExec point at this folder's executable (quoted: the path may hold spaces;
# a literal % is written %% in Exec).
exec_path=$(printf '%s\n' "$exe" | sed 's/%/%%/g')
entry=$apps/cnn-desktop.desktop
awk -v exec_path="$exec_path" -v try_path="$exe" '
    /^Exec=/    { print "Exec=\"" exec_path "\""; next }
    /^TryExec=/ { print "TryExec=" try_path; next }
    { print }
' "$here/cnn-desktop.desktop" > "$entry.tmp"
chmod 644 "$entry.tmp"
mv -f "$entry.tmp" "$entry"
refresh_caches
echo "Added cnn-desktop to the applications menu ($entry)."
echo "To remove it: $here/install.sh --uninstall"
