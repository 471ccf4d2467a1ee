"""Input validation: every breach of the file contract is MalformedInput, with its line."""

import json

from chaos.checker import MalformedInput
from chaos.checker.history import load_history
from chaos.checker.tests.support import CheckerTestCase, HistoryBuilder, same_on_all

HEADER = {"type": "header", "workload": "list-append", "nodes": [1, 2, 3]}
APPEND = {"type": "invoke", "process": 1, "time": 1, "f": "append", "key": 1, "value": 10,
          "node": 1}
APPEND_OK = {"type": "ok", "process": 1, "time": 2, "f": "append"}


def jl(*objects):
    return [o if isinstance(o, str) else json.dumps(o) for o in objects]


class Malformed(CheckerTestCase):
    def assertMalformed(self, lines, final=None, line=None, says=""):
        with self.assertRaises(MalformedInput) as caught:
            self.run_check(lines, final if final is not None else same_on_all({}))
        e = caught.exception
        if line is not None:
            self.assertEqual(e.line, line, str(e))
        self.assertIn(says, str(e))
        return e

    def test_empty_file(self):
        self.assertMalformed([], says="header line is missing")

    def test_first_line_not_a_header(self):
        self.assertMalformed(jl(APPEND), line=1, says="header")

    def test_unknown_workload(self):
        self.assertMalformed(jl({**HEADER, "workload": "queue"}), line=1, says="queue")

    def test_bank_header_needs_total(self):
        self.assertMalformed(jl({**HEADER, "workload": "bank", "accounts": 3}), line=1,
                             says="total")

    def test_not_json(self):
        self.assertMalformed(jl(HEADER, "{not json"), line=2, says="not valid JSON")

    def test_nan_time(self):
        self.assertMalformed(jl(HEADER, json.dumps(APPEND).replace('"time": 1', '"time": NaN')),
                             line=2)

    def test_completion_without_invoke(self):
        self.assertMalformed(jl(HEADER, APPEND_OK), line=2, says="no outstanding invoke")

    def test_two_outstanding_ops_for_one_process(self):
        self.assertMalformed(jl(HEADER, APPEND, {**APPEND, "value": 11, "time": 2}), line=3,
                             says="still outstanding")

    def test_process_reused_after_info(self):
        info = {"type": "info", "process": 1, "time": 2, "f": "append", "error": "timeout"}
        self.assertMalformed(jl(HEADER, APPEND, info, {**APPEND, "value": 11, "time": 3}),
                             line=4, says="ended in info")

    def test_unknown_f(self):
        self.assertMalformed(jl(HEADER, {**APPEND, "f": "prepend"}), line=2, says="prepend")

    def test_f_of_another_workload(self):
        self.assertMalformed(jl(HEADER, {**APPEND, "f": "write"}), line=2, says="write")

    def test_completion_f_mismatch(self):
        self.assertMalformed(jl(HEADER, APPEND, {**APPEND_OK, "f": "read", "value": []}),
                             line=3, says="does not match")

    def test_missing_fields(self):
        for field, says in [("process", "process"), ("time", "time"), ("key", "key"),
                            ("value", "value"), ("node", "node"), ("type", "type")]:
            with self.subTest(field=field):
                event = {k: v for k, v in APPEND.items() if k != field}
                self.assertMalformed(jl(HEADER, event), line=2, says=says)

    def test_read_without_barrier(self):
        read = {"type": "invoke", "process": 1, "time": 1, "f": "read", "key": 1, "node": 1}
        self.assertMalformed(jl(HEADER, read), line=2, says="barrier")

    def test_ok_read_without_value(self):
        read = {"type": "invoke", "process": 1, "time": 1, "f": "read", "key": 1, "node": 1,
                "barrier": False}
        self.assertMalformed(jl(HEADER, read, {"type": "ok", "process": 1, "time": 2,
                                               "f": "read"}), line=3, says="value")

    def test_fail_without_error(self):
        self.assertMalformed(jl(HEADER, APPEND, {**APPEND_OK, "type": "fail"}), line=3,
                             says="error")

    def test_wrong_types(self):
        for change in [{"key": "1"}, {"value": 1.5}, {"process": True}, {"node": 7}]:
            with self.subTest(change=change):
                self.assertMalformed(jl(HEADER, {**APPEND, **change}), line=2)

    def test_time_goes_backwards(self):
        self.assertMalformed(jl(HEADER, {**APPEND, "time": 5}, {**APPEND_OK, "time": 4}),
                             line=3, says="backwards")

    def test_duplicate_append_value(self):
        other = {**APPEND, "process": 2, "time": 3}
        self.assertMalformed(jl(HEADER, APPEND, APPEND_OK, other), line=4, says="unique")

    def test_cas_failed_on_a_write(self):
        h = HistoryBuilder("register")
        h.invoke(1, "write", key=1, value=5).fail(1, cas_failed=True)
        with self.assertRaises(MalformedInput) as caught:
            self.run_check(h, same_on_all({}))
        self.assertEqual(caught.exception.line, 3)

    def test_bad_cas_request(self):
        h = HistoryBuilder("register").invoke(1, "cas", key=1, value=[1])
        with self.assertRaises(MalformedInput):
            self.run_check(h, same_on_all({}))

    def test_transfer_to_unknown_account(self):
        h = HistoryBuilder("bank", total=10, accounts=2)
        h.invoke(1, "transfer", value={"from": 0, "to": 2, "amount": 1})
        with self.assertRaises(MalformedInput) as caught:
            self.run_check(h, same_on_all({0: 5, 1: 5}))
        self.assertIn("not an account", str(caught.exception))

    def test_final_state_problems(self):
        h = HistoryBuilder("list-append")
        for final, says in [("{oops", "not valid JSON"),
                            ({"nodes": {"1": {}, "2": {}}}, "every node"),
                            ({"nodes": {"1": {}, "2": {}, "3": {"x": []}}}, "integers"),
                            ({"nodes": {"1": {}, "2": {}, "3": {"1": 5}}}, "list"),
                            ([], "nodes")]:
            with self.subTest(final=final):
                with self.assertRaises(MalformedInput) as caught:
                    self.run_check(h, final)
                self.assertIn(says, str(caught.exception))

    def test_blank_lines_are_skipped_and_counted(self):
        history = load_history(self.write(jl(HEADER, "", APPEND, APPEND_OK), "{}")[0])
        self.assertEqual(history.ops[0].invoke_line, 3)
        self.assertEqual(history.ops[0].complete_line, 4)

    def test_extra_fields_are_ignored(self):
        self.assertPass(jl(HEADER, {**APPEND, "trace": "x"}, {**APPEND_OK, "latency": 0.1}),
                        same_on_all({1: [10]}))
