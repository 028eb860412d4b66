#!/usr/bin/env bash
# tests/layering.sh: keeps the module arrows of style.md §2 true: a module includes only the
# public headers of the modules below it, and only crypto, jose and the two writers of key files
# (util/fs.cpp, store) open a util::Secret.
set -u
cd "$(dirname "$0")/.." || exit 1
may_use() {
  case $1 in
  util) echo "util" ;;
  log) echo "util log" ;;
  crypto | http | config) echo "util log $1" ;;
  jose) echo "util log crypto jose" ;;
  acme) echo "util log crypto http jose acme" ;;
  store | challenge | hooks | services) echo "util log $1" ;;
  ocsp | sct) echo "util log crypto http $1" ;;
  verify) echo "util log crypto verify" ;;
  actions) echo "util log crypto http jose acme config store challenge hooks services ocsp sct verify actions" ;;
  cli) echo "util log http config actions cli" ;;
  *) echo "" ;;
  esac
}
bad=0
for m in $(ls src | grep -v '\.cpp$'); do
  used=$(cat src/"$m"/* include/certmgr/"$m".hpp include/certmgr/"$m"/* 2>/dev/null |
    sed -n 's|^#include <certmgr/\([a-z0-9_]*\).*|\1|p' | sed 's/\.hpp$//' | sort -u)
  for u in $used; do
    case " $(may_use "$m") " in *" $u "*) ;; *) echo "$m must not include $u"; bad=1 ;; esac
  done
done
leaks=$(grep -rl 'reveal()' src | grep -v '^src/\(crypto\|jose\|store\)/' | grep -v '^src/util/fs.cpp$')
[[ -z $leaks ]] || { echo "reveal() outside crypto, jose, store and util/fs.cpp: $leaks"; bad=1; }
((bad == 0)) && echo "layering: 1 passed, 0 failed" || echo "layering: 0 passed, 1 failed"
exit $bad
