"""PyInstaller's QtGui hook, minus the Qt plugins this app has no use for.

Dropping them here, before PyInstaller analyses the plugins' own library dependencies, also keeps
out what only they pull in: the GTK 3 stack (cairo, pango, atk, gdk-pixbuf) behind the gtk3 theme
plugin, and the EGLFS/KMS, framebuffer, VNC and evdev/TUIO (QtNetwork) back ends for devices
without a desktop. What stays: xcb (X11) with its GL integrations, wayland, offscreen and minimal
(for --self-test and headless runs), the xdg-desktop-portal theme (native dialogs through the
portal), input methods, icon engines and image formats.
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

UNUSED_PLUGINS = (
    "platforms/libqeglfs.so",
    "platforms/libqlinuxfb.so",
    "platforms/libqminimalegl.so",
    "platforms/libqvnc.so",
    "platforms/libqvkkhrdisplay.so",
    "egldeviceintegrations/",
    "generic/",
    "platformthemes/libqgtk3.so",
    "imageformats/libqpdf.so",  # needs QtPdf, which is not installed
)


def _used(entry) -> bool:
    source = entry[0].replace("\\", "/")
    return not any(f"/plugins/{plugin}" in source for plugin in UNUSED_PLUGINS)


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [entry for entry in binaries if _used(entry)]
