// Carrier of the shared precompiled header (see torch_pch.h); it holds no code of its own.
