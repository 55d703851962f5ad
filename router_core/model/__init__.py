"""The router's model: the encoder, the cross-attention network, scorers (torch and ONNX Runtime), the scoring pipeline and its caches, pricing, training and fitting."""
