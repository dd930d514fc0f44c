#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Unit tests (no kernel features needed): run by `make unit` after building
# build/test/unit-* and build/udpcork.

# build/udpcork is not a prerequisite of `make unit`: make sure it is there.
setup_file () {
  cd "$BATS_TEST_DIRNAME/.."
  make -s "${BUILD:-build}/udpcork" >&3
}

setup () {
  cd "$BATS_TEST_DIRNAME/.."
  B=$(realpath -m "${BUILD:-build}")
  DIR=$BATS_TEST_TMPDIR/ckpt
  mkdir -p "$DIR"
}

sample () {
  "$B/test/unit-image" --write-sample "$DIR"
}

# Every test/unit/test-NAME.c (built as $B/test/unit-NAME): state parsing,
# the image format, the trust boundary (validation, packet codec, control
# messages, archives), ...
@test "unit test programs: every check passes" {
  n=0
  for t in "$B"/test/unit-*; do
    run "$t"
    echo "== $t"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"not ok"* ]]
    [[ "$output" == *"1.."[0-9]* ]]
    n=$((n + 1))
  done
  [ "$n" -ge 3 ]
}

@test "udpcork --version and --help" {
  run "$B/udpcork" --version
  [ "$status" -eq 0 ]
  [[ "$output" == "udpcork "[0-9]* ]]
  run "$B/udpcork" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"udpcork show [--json] DIR"* ]]
}

@test "udpcork: bad usage exits 2" {
  run "$B/udpcork"
  [ "$status" -eq 2 ]
  run "$B/udpcork" frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown command"* ]]
  run "$B/udpcork" show
  [ "$status" -eq 2 ]
  run "$B/udpcork" show "$DIR" "$DIR"
  [ "$status" -eq 2 ]
}

@test "udpcork show: a good image as a table" {
  sample
  run "$B/udpcork" show "$DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == PID*FD*FAMILY*LOCAL*DESTINATION*MODE*BYTES*TTL*TOS*SHA256 ]]
  [ "${#lines[@]}" -eq 5 ]
  [[ "${lines[1]}" == *"127.0.0.1:40000"*"127.0.0.1:9999"*UDP_CORK*" 5 "*"2cf24dba5fb0" ]]
  [[ "${lines[2]}" == *inet6*"[::1]:40001"*"[::1]:9999"*MSG_MORE*" 0 "*"e3b0c44298fc" ]]
  [[ "$output" == *65507* ]]
}

@test "udpcork show --json: a good image" {
  sample
  run "$B/udpcork" show --json "$DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  j() { jq -r "$1" <<<"$output"; }
  [ "$(j .version)" = 1 ]
  [ "$(j .container_id)" = c0ffee ]
  [ "$(j '.dgrams | length')" = 4 ]
  [ "$(j '.dgrams[0] | [.family, .destination, .mode, .bytes, .ttl, .tos] | join(" ")')" = "inet 127.0.0.1:9999 UDP_CORK 5 64 16" ]
  [ "$(j '.dgrams[0].sha256')" = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 ]
  [ "$(j '.dgrams[3].ttl')" = null ]
  [ "$(j '.dgrams[3].destination')" = - ]
  # The option may also follow DIR.
  run "$B/udpcork" show "$DIR" --json
  [ "$status" -eq 0 ]
  [[ "$output" == "{"* ]]
}

@test "udpcork show: no image means nothing was saved" {
  run "$B/udpcork" show "$DIR"
  [ "$status" -eq 0 ]
  [ "$output" = "no udpcork.img in $DIR: nothing was saved" ]
}

@test "udpcork show: missing directory fails" {
  run "$B/udpcork" show "$DIR/nope"
  [ "$status" -eq 1 ]
  [[ "$output" == *"open directory"*"No such file or directory"* ]]
}

@test "udpcork show: truncated image fails" {
  sample
  truncate -s -3 "$DIR/udpcork.img"
  run "$B/udpcork" show "$DIR"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"error: $DIR: read image \`udpcork.img\`: truncated at byte offset"* ]]
}

@test "udpcork show: not an image fails" {
  echo "hello world" > "$DIR/udpcork.img"
  run "$B/udpcork" show --json "$DIR"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a udpcork image"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

@test "udpcork show: symlinked image is refused" {
  sample
  mv "$DIR/udpcork.img" "$DIR/real.img"
  ln -s real.img "$DIR/udpcork.img"
  run "$B/udpcork" show "$DIR"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"symbolic link"* ]]
}

# An exported checkpoint archive holds the image under checkpoint/.
archive () {
  sample
  mkdir -p "$BATS_TEST_TMPDIR/arc/checkpoint"
  cp "$DIR/udpcork.img" "$BATS_TEST_TMPDIR/arc/checkpoint/"
  echo '{}' > "$BATS_TEST_TMPDIR/arc/config.dump"
}

@test "udpcork show: reads .tar, .tar.gz, .tar.zst and .tar.xz checkpoint archives" {
  archive
  tar -C "$BATS_TEST_TMPDIR/arc" -cf "$BATS_TEST_TMPDIR/c.tar" .
  tar -C "$BATS_TEST_TMPDIR/arc" -czf "$BATS_TEST_TMPDIR/c.tar.gz" .
  tar -C "$BATS_TEST_TMPDIR/arc" --zstd -cf "$BATS_TEST_TMPDIR/c.tar.zst" .
  tar -C "$BATS_TEST_TMPDIR/arc" -cJf "$BATS_TEST_TMPDIR/c.tar.xz" .
  want=$("$B/udpcork" show "$DIR")
  for a in c.tar c.tar.gz c.tar.zst c.tar.xz; do
    run "$B/udpcork" show "$BATS_TEST_TMPDIR/$a"
    echo "$a: $output"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
  done
  run "$B/udpcork" show --json "$BATS_TEST_TMPDIR/c.tar.gz"
  [ "$status" -eq 0 ]
  [[ "$output" == "{"* ]]
}

@test "udpcork show: archive without an image, and a broken archive" {
  archive
  rm "$BATS_TEST_TMPDIR/arc/checkpoint/udpcork.img"
  tar -C "$BATS_TEST_TMPDIR/arc" -czf "$BATS_TEST_TMPDIR/empty.tar.gz" .
  run "$B/udpcork" show "$BATS_TEST_TMPDIR/empty.tar.gz"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no udpcork.img in"*"nothing was saved"* ]]
  head -c 100 "$BATS_TEST_TMPDIR/empty.tar.gz" > "$BATS_TEST_TMPDIR/broken.tar.gz"
  run "$B/udpcork" show "$BATS_TEST_TMPDIR/broken.tar.gz"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"archive \`$BATS_TEST_TMPDIR/broken.tar.gz\`"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

# Finding 3 of the trust review: tar ran with a member name as argument.
@test "udpcork show: no command runs on archive input (member named --use-compress-program=..., archive named host:x)" {
  archive
  cd "$BATS_TEST_TMPDIR"
  tar -C arc -cf evil.tar --transform 's|^\./checkpoint/udpcork.img$|--use-compress-program=sh -c id>out x/udpcork.img|' .
  tar -tf evil.tar | grep -q -- '--use-compress-program'
  run "$B/udpcork" show evil.tar
  echo "$output"
  [ ! -e out ]
  [ "$status" -eq 0 ]
  [[ "$output" == *"no udpcork.img in evil.tar"* ]]
  cp evil.tar host:x.tar
  run "$B/udpcork" show host:x.tar
  echo "$output"
  [ ! -e out ]
  [[ "$output" == *"no udpcork.img in host:x.tar"* ]]
  run "$B/udpcork" show other-host:y.tar
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
}
