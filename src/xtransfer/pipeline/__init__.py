"""A run = ordered phases (pretrained -> intermediate -> target), each cached by content key."""
