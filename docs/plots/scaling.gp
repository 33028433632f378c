# Plots admf-scaling-scenario's TSV (--tsv): market_data's workers (right axis, steps) and
# the interval p99 latencies (left axis, log scale) over time, the step load shaded.
#   gnuplot -e "in='docs/results/scaling-step-load.tsv'; out='docs/scaling-step-load.png'" docs/plots/scaling.gp
# Columns: t_s phase workers next_workers p99_queue_ns p99_intended_ns backlog arrival_rate service_rate
if (!exists("in")) in = 'docs/results/scaling-step-load.tsv'
if (!exists("out")) out = 'docs/scaling-step-load.png'
if (!exists("target_us")) target_us = 1000
if (!exists("handler_text")) handler_text = ""

set terminal pngcairo size 1100,560 font ",10"
set output out
set datafile separator "\t"
set datafile commentschars "#"

# The step's span from the phase column (1 = high rate); each row is the interval ending at t.
stats in using 1:($2 == 1 ? $1 : NaN) nooutput
step_end = STATS_max_y
stats in using 1:($2 == 1 ? $1 : NaN) nooutput
step_start = STATS_min_y
set object 1 rect from step_start, graph 0 to step_end, graph 1 behind \
    fillcolor rgb "#f0e0d0" fillstyle solid 0.6 noborder
set label 1 "step load" at step_start, graph 0.96 offset 0.5,0 tc rgb "#906040"

set title "admf::worker\\_controller (latency\\_target\\_scaling) under a step load: market\\_data, 4 lanes, 1..4 workers\n".handler_text
set xlabel "time (s)"
set ylabel "interval p99 latency (µs, log)"
set logscale y
set format y "10^{%L}"
set y2label "workers"
set y2range [0:5]
set y2tics 1
set ytics nomirror
set key top left opaque box
set grid xtics ytics
set arrow 2 from graph 0, first target_us to graph 1, first target_us nohead dt 3 lc rgb "#555555"
set label 2 sprintf("target p99 %g µs", target_us) at graph 1, first target_us offset -14,0.6 tc rgb "#555555"

plot in using 1:($5 / 1000.0) with lines lw 2 lc rgb "#1f77b4" title "p99 queue time (publish -> dequeue, the controller's input)", \
     in using 1:($6 / 1000.0) with lines lw 1.5 dt 2 lc rgb "#2ca02c" title "p99 from intended send time (what the publisher's schedule feels)", \
     in using 1:3 axes x1y2 with steps lw 2.5 lc rgb "#d62728" title "workers"
