# Velox: defaults for login shells on the Debian root (read by /etc/profile).
# glibc has C.UTF-8 built in (no locales package needed).
export LANG="${LANG:-C.UTF-8}"
export TERM="${TERM:-vt100}"
