"""The core: what a user of the attention needs. Offsets and patterns (`offsets`), input validation (`inputs`), the
exact definition (`reference`), the kernels (`kernel_common`, `kernel`, `kernel_backward`, `decode`), the CPU path
(`gather`), the one entry `sparse_attention` (`attention`), the FlexAttention and Hugging Face drop-ins (`flex`,
`hf`) and the GPT (`model`). Nothing here imports the experiments around it (`fibonacci_attention.*`)."""
