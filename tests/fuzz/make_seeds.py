#!/usr/bin/env python3
"""Regenerates the seed corpora under tests/fuzz/corpus/ from the project's own files and
../shared/fixtures (small cuts of real tokenizers, real configs, experiments and traces).
Usage: tests/fuzz/make_seeds.py [FIXTURES_DIR]. Crash reproducers (regression-*) are kept."""
import json, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def dumps(j):
    return json.dumps(j, ensure_ascii=False, indent=1)


# --- safetensors: the writer's layout (sorted keys, 8-byte padded header) --------------------
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


put("safetensors", "f32_matrix.safetensors",
    safetensors({"w": ("F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6))}))
put("safetensors", "mixed.safetensors", safetensors({
    "a.weight": ("F64", [2], struct.pack("<2d", 0.5, -1)),
    "b.bias": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
    "c.half": ("F16", [1, 2], b"\x00\x3c\x00\xc0"),
    "d.mask": ("BOOL", [4], b"\x00\x01\x01\x00"),
    "e.ids": ("I64", [], struct.pack("<q", 7)),
    "f.small": ("I8", [2], b"\x7f\x80"),
}, {"format": "pt", "nmar": "fuzz seed"}))
put("safetensors", "empty_tensor.safetensors", safetensors({"z": ("I32", [0, 4], b""), "u": ("U8", [1], b"\x05")}))
put("safetensors", "unsupported_dtype.safetensors", safetensors({"q": ("F8_E4M3", [2], b"\x01\x02")}))
put("safetensors", "no_tensors.safetensors", safetensors({}, {"only": "metadata"}))

# --- config.json: the bundled demo plus the shapes of real GPT-2 / Qwen2 / Mistral configs -----
put("model_config", "demo_llama.json", open(os.path.join(ROOT, "resources/demo/addition/config.json")).read())
put("model_config", "gpt2.json", dumps({
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
    "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
    "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "vocab_size": 50257}))
put("model_config", "qwen2.json", dumps({
    "architectures": ["Qwen2ForCausalLM"], "bos_token_id": 151643, "eos_token_id": [151645, 151643],
    "hidden_act": "silu", "hidden_size": 896, "intermediate_size": 4864, "max_position_embeddings": 32768,
    "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
    "tie_word_embeddings": True, "torch_dtype": "bfloat16", "use_sliding_window": False, "vocab_size": 151936}))
put("model_config", "mistral.json", dumps({
    "model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
    "num_hidden_layers": 32, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 32768,
    "rope_theta": 1000000.0, "sliding_window": None, "vocab_size": 32768, "rms_norm_eps": 1e-05}))

# --- tokenizers: the demo's char tokenizer and small cuts of the real GPT-2, Llama-2 and Qwen ones
put("tokenizer", "demo_char.json", open(os.path.join(ROOT, "resources/demo/addition/tokenizer.json")).read())


def cut(tok, keep, added_from):
    vocab = {t: i for t, i in tok["model"]["vocab"].items() if i < keep}
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    tok["model"]["vocab"], tok["model"]["merges"] = vocab, merges
    added = [a for a in tok["added_tokens"] if a["id"] < keep]
    for i, a in enumerate(a for a in tok["added_tokens"] if a["id"] >= keep):
        if i < 4:
            added.append(dict(a, id=added_from + i))
    tok["added_tokens"] = added
    return tok


llama = json.load(open(os.path.join(FIX, "tokenizers/llama2/tokenizer.json")))
put("tokenizer", "llama2_cut.json", dumps(cut(llama, 320, 320)))
qwen = json.load(open(os.path.join(FIX, "tokenizers/qwen/tokenizer.json")))
put("tokenizer", "qwen_cut.json", dumps(cut(qwen, 300, 300)))
enc = json.load(open(os.path.join(FIX, "tokenizers/gpt2/encoder.json")))
bpe = [l for l in open(os.path.join(FIX, "tokenizers/gpt2/vocab.bpe"), encoding="utf-8").read().split("\n")[1:] if l]
gpt2 = {"version": "1.0", "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "special": True,
        "single_word": False, "lstrip": False, "rstrip": False, "normalized": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": enc, "merges": bpe}}
put("tokenizer", "gpt2_cut.json", dumps(cut(gpt2, 400, 400)))


# tokenizer.model (protobuf): the Llama-2 model with only its first pieces.
def varint(b, i):
    v, s = 0, 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i


def enc_varint(v):
    out = b""
    while True:
        c = v & 0x7F; v >>= 7
        out += bytes([c | (0x80 if v else 0)])
        if not v:
            return out


model = open(os.path.join(FIX, "tokenizers/llama2/tokenizer.model"), "rb").read()
i, kept, pieces = 0, b"", 0
while i < len(model):
    start = i
    key, i = varint(model, i)
    field, wire = key >> 3, key & 7
    if wire == 2:
        n, i = varint(model, i); i += n
    elif wire == 0:
        _, i = varint(model, i)
    elif wire == 5:
        i += 4
    elif wire == 1:
        i += 8
    if field == 1:
        pieces += 1
        if pieces > 300:
            continue
    kept += model[start:i]
put("tokenizer", "llama2_cut.model", kept)

# --- traces: the bundled demo trace (attention dropped to stay small) and a soft/JSONL variant ---
demo = json.load(open(os.path.join(ROOT, "resources/demo/traces/addition.json")))
for s in demo["steps"]:
    s["attention"] = [[row[:] for row in layer[:2]] for layer in s["attention"][:1]]
put("trace", "demo_hard.json", dumps(demo))
small = json.loads(json.dumps(demo))
for s in small["steps"]:
    s.pop("attention", None); s.pop("topk", None)
put("trace", "demo_plain.jsonl", json.dumps(small) + "\n\n" + json.dumps(small) + "\r\n")

# --- experiments: the shipped TOML files ------------------------------------------------------
for name in sorted(os.listdir(os.path.join(ROOT, "experiments"))):
    if name.endswith(".toml"):
        put("experiment", name, open(os.path.join(ROOT, "experiments", name)).read())

# --- JSONL datasets -----------------------------------------------------------------------------
put("jsonl", "answers.jsonl", "\n".join([
    '{"prompt": "2+2=", "completion": "4"}',
    '{"prompt": "pi?", "completion": "3.14159", "answer": {"type": "numeric", "value": 3.14, "tolerance": 0.01}}',
    '{"prompt": "unit?", "completion": "12 cm", "answer": {"type": "regex", "value": "[0-9]+ ?cm"}}',
    '{"prompt": "capital?", "completion": "It is Paris.", "answer": "Paris", "difficulty": 3}',
    '{"prompt": "e?", "completion": "2.718", "answer": {"type": "numeric", "tolerance": {"abs": 0.001, "rel": 0.01}}}',
    '', '{"prompt": "x", "completion": "y", "id": 7, "meta": {"k": [1, 2]}}', ""]))
put("jsonl", "crlf.jsonl", '{"prompt": "a", "completion": "b"}\r\n{"prompt": "c", "completion": "d", "answer": {"type": "exact"}}\r\n')
print("seeds written under", OUT)
