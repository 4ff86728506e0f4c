# Shared by bench/run.sh, bench/ab.sh and bench/instructions.sh (sourced, not run): the
# stand-in's command token, the slash-command form both sides get, and how Switchboard and the
# minimal program are started for the bench. Set STANDIN (host:port) before calling these.

TOKEN=benchcommandtoken000000000   # what the stand-in hands out for every created command
FORM=application/x-www-form-urlencoded
IDS="team_id=benchteamid000000000000000&team_domain=main&channel_id=benchchannelid000000000000&channel_name=town-square&user_id=benchuserid000000000000000&user_name=alice"

# The form Mattermost posts for `/NAME TEXT` (TEXT already URL-encoded).
form() { # name text
    echo "token=$TOKEN&$IDS&command=%2F$1&text=$2&trigger_id=benchtrigger&response_url=http%3A%2F%2F$STANDIN%2Fhooks%2Fx"
}

# Switchboard's environment for the bench: the default configuration (the shipped
# config.toml, read from the repository root), only addresses, secrets and the routes
# directory set. Exported in the caller's shell: call it in a subshell that then `exec`s the
# server, so `$!` is the server's own pid:
#   ( switchboard_env "$ADDR" "$KEYS"; exec taskset -c 0 "$BIN" serve ) &
switchboard_env() { # listen-addr signing-keys
    export SWITCHBOARD_SERVER__LISTEN=$1
    export SWITCHBOARD_SERVER__PUBLIC_URL=http://$1
    export SWITCHBOARD_MATTERMOST__URL=http://$STANDIN
    export SWITCHBOARD_MATTERMOST__TOKEN=bench-bot-token
    export SWITCHBOARD_ROUTES__DIR=bench/routes
    export SWITCHBOARD_SIGNING__KEYS=$2
}

# The minimal program's arguments and environment, the same way:
#   ( minimal_env "$KEYS"; exec taskset -c 0 "$MIN_BIN" "$ADDR" "http://$STANDIN" "$TOKEN" ) &
minimal_env() { # signing-keys
    export BENCH_SIGNING_KEY=$1
}
