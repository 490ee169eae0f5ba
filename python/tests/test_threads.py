"""Many threads share one KeyPair (as a server's request threads do)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from paramcrypt import KeyPair, Mode, Padding, Session


def test_threads_share_one_key_pair(key_2048: KeyPair) -> None:
    public_key = key_2048.public_key()

    def work(i: int) -> int:
        mode = Mode(i % 2)
        padding = Padding(i % 3)
        with Session.new(mode) as client:
            enc_key = client.wrap(public_key, padding)
            with key_2048.unwrap(enc_key, padding) as server:
                text = f"request {i}"
                assert server.decrypt(client.encrypt(text)) == text.encode()
                assert client.decrypt(server.encrypt(text)) == text.encode()
        return i

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(work, range(96))) == list(range(96))
