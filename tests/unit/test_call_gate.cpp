#include "loop/call_gate.hpp"

#include <doctest/doctest.h>

#include <vector>

using left4me::CallGate;

TEST_CASE("CallGate runs up to its limit at once and the rest in arrival order")
{
    CallGate gate(2);
    std::vector<int> started;
    for (int i = 0; i < 5; ++i)
    {
        gate.submit([&started, i] { started.push_back(i); });
    }
    CHECK(started == std::vector<int>{0, 1});
    CHECK(gate.running() == 2);
    CHECK(gate.waiting() == 3);

    gate.finished();
    CHECK(started == std::vector<int>{0, 1, 2});
    gate.finished();
    gate.finished();
    CHECK(started == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(gate.waiting() == 0);
    gate.finished();
    gate.finished();
    CHECK(gate.running() == 0);

    gate.submit([&started] { started.push_back(5); });
    CHECK(started.back() == 5);
    CHECK(gate.running() == 1);
}

TEST_CASE("CallGate lets an operation that ends at once start the next one")
{
    // A call that fails while being sent reports its end from inside submit.
    CallGate gate(1);
    std::vector<int> started;
    gate.submit([&] {
        started.push_back(0);
        gate.finished();
    });
    gate.submit([&] { started.push_back(1); });
    CHECK(started == std::vector<int>{0, 1});
    CHECK(gate.running() == 1);
}
