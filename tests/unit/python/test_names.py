"""Function names spelled once (python/memsnap/target/names.py): GNU's demangling
without template return types, LLVM spellings respelled as GNU's, linkage
names with symbol versions, and what a debugger gave left alone."""

import pytest

from memsnap.target import names


@pytest.mark.parametrize("mangled, spelled", [
    ("_Z1fIiEPT_S0_", "f<int>(int)"),                    # template: GNU prints "int* f<int>(int)"
    ("_ZN2ns5ThingC2Ev", "ns::Thing::Thing()"),
    ("_ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_iteratorIPiS1_EEDpOT_",
     "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
     "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"),
    ("_Znwm@GLIBCXX_3.4", "operator new(unsigned long)@GLIBCXX_3.4"),
])
def test_demangle_as_gdb_names_functions(mangled, spelled):
    assert names.demangle(mangled) == spelled


def test_demangle_refuses_what_is_not_a_linkage_name():
    assert names.demangle("main") is None
    assert names.demangle("") is None
    assert names.demangle(None) is None
    assert names.demangle("_Zgarbage") is None


@pytest.mark.parametrize("name, spelled", [
    ("int* f<int>(int)", "f<int>(int)"),
    ("f(int)", "f(int)"),
    ("(anonymous namespace)::g(char const*)", "(anonymous namespace)::g(char const*)"),
    ("bool operator< <int>(A<int> const&, A<int> const&)", "operator< <int>(A<int> const&, A<int> const&)"),
    ("A::operator int() const", "A::operator int() const"),
    ("void A::operator()(int) const", "A::operator()(int) const"),
    ("int const& max<int>(int const&, int const&)", "max<int>(int const&, int const&)"),
])
def test_template_return_types_are_dropped(name, spelled):
    assert names.drop_template_return_type(name) == spelled


@pytest.mark.parametrize("llvm, gnu", [
    ("bool operator<<int>(A<int> const&, A<int> const&)", "operator< <int>(A<int> const&, A<int> const&)"),
    ("std::ostream& operator<<<char>(std::ostream&, char)", "operator<< <char>(std::ostream&, char)"),
    ("ns::f(int)", "ns::f(int)"),
])
def test_llvm_spellings_respelled_as_gnu(llvm, gnu):
    assert names.respell_llvm(llvm) == gnu


def test_spell_picks_by_what_the_debugger_gave():
    assert names.spell("_Z1fIiEPT_S0_") == "f<int>(int)"
    assert names.spell("_Zgarbage") == "_Zgarbage"
    assert names.spell("int* f<int>(int)", cplusplus=True) == "f<int>(int)"
    assert names.spell("int* f<int>(int)", cplusplus=False) == "int* f<int>(int)"
    assert names.spell("") is None and names.spell(None) is None


@pytest.mark.parametrize("name, has", [
    ("f(int)", True), ("f", False), ("operator()", False), ("operator()(int) const", True),
    ("g() &&", True), ("h() volatile", True),
])
def test_parameter_lists(name, has):
    assert names.has_parameter_list(name) is has
