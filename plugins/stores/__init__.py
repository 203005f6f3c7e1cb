"""Built-in document stores: where the bytes of archived documents are kept."""
