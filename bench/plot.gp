# Latency distributions (CDF per path) from alloc_bench's cdf.dat.
#   gnuplot -e "data='cdf.dat'; png='latency.png'" bench/plot.gp
if (!exists("data")) data = 'bench/results/cdf.dat'
if (!exists("png")) png = 'bench/results/latency.png'
set terminal pngcairo size 1200,700 noenhanced
set output png
set title 'vfagent bench: latency CDF per path (lab: QEMU TCG, 2 cores)'
set logscale x
set xlabel 'latency, ms (log)'
set ylabel 'fraction of runs'
set key outside right
set grid
if (!exists("n")) n = 14
set key autotitle columnheader
plot for [i=0:n-1] data index i using 1:2 with lines lw 2 lt i % 7 + 1 dt i / 7 + 1 title columnheader(1)
