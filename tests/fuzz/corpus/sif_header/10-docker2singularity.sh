#!/bin/sh
export PATH="/usr/local/bin:/usr/bin:/bin"
export A=1
B="$A/x"
C='lit $HOME'
