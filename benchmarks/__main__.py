"""``python -m benchmarks`` (``make bench``): every speed and transfer measurement."""

from . import knowledge_transfer, multimodal_speed, rerank_speed

if __name__ == "__main__":
    rerank_speed.main([])
    print()
    knowledge_transfer.main([])
    print()
    multimodal_speed.main([])
