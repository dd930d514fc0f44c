. test/lib.bash
ct_app r manysock -f 4 -n 1000 -s 65507
jq '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096}]' $(ct_dir r)/config.json > /tmp/c.json && mv /tmp/c.json $(ct_dir r)/config.json
ct_run r; ct_wait r ready 60
ct_checkpoint r; ct_restore r
grep -h "peak RSS" $(ct_dir r)/work/*.log
ct_cleanup_all
