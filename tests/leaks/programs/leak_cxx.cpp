/*
 * Leak test: a C++ object graph. Polymorphic nodes own a std::string (heap
 * buffer: the names are long) and a std::vector of child pointers; a graph
 * of 7 nodes is lost through its root (definitely lost) with every other
 * block of it indirectly lost; a graph of 3 nodes is kept by a global
 * std::unique_ptr; a std::map kept in a global holds 4 more nodes.
 */
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint.h"

struct Node {
    virtual ~Node() = default;
    virtual int kind() const { return 0; }
    std::string name;
    std::vector<Node *> children;
    explicit Node(const std::string &n) : name(n + " with a name too long for the small buffer") {}
};

struct Leaf : Node {
    explicit Leaf(const std::string &n) : Node(n) {}
    int kind() const override { return 1; }
    long weight[4] = {1, 2, 3, 4};
};

static Node *make_graph(int depth, const std::string &name)
{
    if (depth == 0)
        return new Leaf(name);
    Node *node = new Node(name);
    node->children.push_back(make_graph(depth - 1, name + "L"));
    node->children.push_back(make_graph(depth - 1, name + "R"));
    return node;
}

std::unique_ptr<Node> kept_graph;
std::map<int, std::string> *kept_map;

__attribute__((noinline)) static void build(void)
{
    Node *lost = make_graph(2, "lost");
    lost->children.reserve(2);
    kept_graph.reset(make_graph(1, "kept"));
    kept_map = new std::map<int, std::string>();
    for (int i = 0; i < 4; i++)
        (*kept_map)[i] = std::string(40, 'a' + i);
}

int main()
{
    build();
    leak_scrub_and_checkpoint();
    return 0;
}
