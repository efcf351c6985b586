"""Embedding: the model's runtimes (sentence-transformers, ONNX, OpenVINO), their export and
quantisation, and the calibration that picks the fastest on this machine."""
