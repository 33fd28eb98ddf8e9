#!/bin/busybox sh
# Uses only shell builtins (no fork/exec): echo, printf, variables,
# arithmetic, for/while loops, case, functions, string operations.
# Output must match a native run byte for byte.

echo "script: $# args: $*"

sum=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  sum=$((sum + i * i))
done
echo "sum of squares 1..10 = $sum"

n=0
fib_a=0
fib_b=1
while [ $n -lt 20 ]; do
  printf '%d ' "$fib_a"
  t=$((fib_a + fib_b))
  fib_a=$fib_b
  fib_b=$t
  n=$((n + 1))
done
echo

classify() {
  case "$1" in
    [0-9]*) echo "$1: number" ;;
    *.c|*.h) echo "$1: C source" ;;
    -*) echo "$1: option" ;;
    "") echo "(empty): empty" ;;
    *) echo "$1: word" ;;
  esac
}
for w in 42 main.c util.h --help hello ""; do
  classify "$w"
done

s="the quick brown fox"
echo "length=${#s} prefix=${s%% *} suffix=${s##* } upper-ish=${s#the }"
printf '%5s|%-5s|%05d|%x|%o|%c\n' ab cd 42 255 8 xyz
printf '%s\n' "quoted 'single' and \"double\"" 'tab	here'

set -- alpha beta gamma
echo "positional: $1 $2 $3 (count $#)"
shift
echo "after shift: $* (count $#)"

i=0
until [ $i -ge 3 ]; do
  echo "until $i"
  i=$((i + 1))
done

x=7
if [ $((x % 2)) -eq 1 ] && [ $x -gt 5 ]; then
  echo "$x is odd and > 5"
else
  echo "unexpected"
fi
false || echo "false returned $?"
exit 3
