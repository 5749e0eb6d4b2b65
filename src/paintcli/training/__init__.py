"""Training: data, recipes (CycleGAN, pix2pix), the loop with exact resume, and multi-process support."""
