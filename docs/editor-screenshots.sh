#!/usr/bin/env bash
# Remakes docs/src/images/editor-error.png and editor-completion.png: a real Neovim with Taplo (the TOML
# language server) on a route file, captured from tmux and rendered to PNG by headless
# Chromium. Not part of CI (the images are committed); needs, on Debian 12:
#   apt-get install neovim tmux aha chromium
#   cargo install taplo-cli --locked --features lsp --root /tmp/taplo   # (the PyPI and npm
#                                                  # builds of taplo have no language server)
# Usage: docs/editor-screenshots.sh [path/to/taplo]   (writes docs/src/images/editor-*.png)
set -euo pipefail
here=$(cd "$(dirname "$0")/src/images" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
taplo=${1:-/tmp/taplo/bin/taplo}
work=$(mktemp -d)
trap 'tmux kill-session -t sb-shot 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/routes" "$work/schema"
cp "$root/schema/route.schema.json" "$work/schema/"
cat > "$work/init.lua" <<LUA
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.completeopt = 'menuone,noinsert'
vim.o.pumheight = 10
vim.o.updatetime = 300
vim.diagnostic.config({ virtual_text = true, signs = true, underline = true })
vim.cmd('highlight Pmenu ctermbg=237 ctermfg=252')
vim.cmd('highlight PmenuSel ctermbg=24 ctermfg=255')
vim.api.nvim_create_autocmd('FileType', {
  pattern = 'toml',
  callback = function(args)
    local client = vim.lsp.start_client({
      name = 'taplo',
      cmd = { '$taplo', 'lsp', 'stdio' },
      root_dir = '$work',
    })
    vim.lsp.buf_attach_client(args.buf, client)
    vim.bo[args.buf].omnifunc = 'v:lua.vim.lsp.omnifunc'
  end,
})
LUA

# $1: output PNG; the route file is $work/routes/greet.toml; the remaining arguments are
# tmux send-keys batches, sent one after the other with a pause.
shoot() {
  local out=$1; shift
  tmux kill-session -t sb-shot 2>/dev/null || true
  (cd "$work" && TERM=xterm-256color tmux new-session -d -s sb-shot -x 108 -y 28 \
    "nvim -u $work/init.lua routes/greet.toml")
  sleep 4
  for keys in "$@"; do
    # shellcheck disable=SC2086
    tmux send-keys -t sb-shot $keys
    sleep 2
  done
  tmux capture-pane -t sb-shot -e -p > "$work/pane.ansi"
  aha --black --title "nvim" < "$work/pane.ansi" \
    | sed 's|<pre>|<pre style="font: 15px/1.25 DejaVu Sans Mono, monospace; margin: 8px">|' \
    > "$work/pane.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1000,580 --virtual-time-budget=2000 \
    --screenshot="$out" "file://$work/pane.html" 2>/dev/null
  echo "wrote $out"
}

cat > "$work/routes/greet.toml" <<'TOML'
#:schema ../schema/route.schema.json
# /greet — say hello to someone.
description = "Greet someone"

[command]
trigger = "greet"
description = "Greet someone"

[[args]]
name = "who"
type = "user"
required = true

[reply]
text = "Hello @{{ args.who }}!"
visibilty = "in_channel"
TOML
shoot "$here/editor-error.png" "16G"

cat > "$work/routes/greet.toml" <<'TOML'
#:schema ../schema/route.schema.json
# /greet — say hello to someone.
description = "Greet someone"

[command]
trigger = "greet"
description = "Greet someone"

[[args]]
name = "who"
type = "user"
required = true

[reply]
text = "Hello @{{ args.who }}!"
TOML
shoot "$here/editor-completion.png" "G o" "C-x C-o"
