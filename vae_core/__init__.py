"""vae_core: sentence VAEs and their relatives (see README.md)."""
import os

# OpenMP threads that wait *passively* at barriers: with 2 threads on 2 cores and another process busy on one
# of them, spinning threads cost the 256/256/32 VAE 63% of its speed (1,655 against 4,400 target tokens/s);
# passive waiting keeps 2,667 (1 thread: 2,812), and costs nothing measurable when the cores are free
# (bench/train_speed.py --busy-core). Read when OpenMP starts, i.e. when torch is first imported; a value
# set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
