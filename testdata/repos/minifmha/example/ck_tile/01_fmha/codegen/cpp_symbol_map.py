# kforge test fixture
DTYPE_MAP = {
    "fp16": "float",
}
